using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>The catalog engines the contract tests run against.</summary>
public enum CatalogEngine
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// A real origin (in-process Kestrel on 127.0.0.1:0) with a fresh data directory, plus account helpers.
/// On <see cref="CatalogEngine.PostgreSql"/> its catalog is a fresh database of the test PostgreSQL, dropped on dispose.
/// </summary>
internal sealed class CatalogOrigin : IAsyncDisposable
{
    /// <summary>Cheaper KDF cost and generous rate limits so tests stay fast; the rate-limit tests set their own.</summary>
    public static readonly string[] FastSettings =
    [
        "--Origin:Catalog:PasswordIterations=10000",
        "--Origin:Catalog:RateLimitPerSecond=100000",
        "--Origin:Catalog:RateLimitBurst=100000",
        "--Origin:Catalog:RegistrationBurst=100000",
    ];

    /// <summary>The built-in admin's password, provisioned unless the settings name their own AdminPasswordFile (empty: none).</summary>
    public const string AdminPassword = "admin password 1";

    private readonly TempDirectory? _ownedDirectory;
    private readonly TempDirectory _secrets;
    private readonly string? _adminPassword;
    private readonly TestDatabase? _database;
    private string? _adminToken;

    private CatalogOrigin(RunningRole role, TempDirectory? ownedDirectory, TempDirectory secrets, string? adminPassword, TestDatabase? database)
    {
        Role = role;
        _database = database;
        _ownedDirectory = ownedDirectory;
        _secrets = secrets;
        _adminPassword = adminPassword;
        Client = role.CreateClient();
    }

    public RunningRole Role { get; }

    public HttpClient Client { get; }

    public ICatalogTitles Titles => Role.Services.GetRequiredService<ICatalogTitles>();

    public static Task<CatalogOrigin> StartAsync(params string[] settings) => StartCoreAsync(null, null, settings);

    /// <summary>Starts with its catalog on <paramref name="engine"/> (PostgreSQL: a fresh database, dropped on dispose).</summary>
    public static async Task<CatalogOrigin> StartAsync(CatalogEngine engine, params string[] settings)
    {
        if (engine == CatalogEngine.Sqlite)
        {
            return await StartCoreAsync(null, null, settings);
        }

        var database = await TestDatabase.CreateAsync();
        try
        {
            return await StartCoreAsync(null, database, [.. PostgresSettings(database.ConnectionString), .. settings]);
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>The settings that put an origin's catalog in the PostgreSQL database <paramref name="connectionString"/> names.</summary>
    public static string[] PostgresSettings(string connectionString) =>
        ["--Origin:Catalog:Database:Provider=PostgreSql", $"--Origin:Catalog:Database:ConnectionString={connectionString}"];

    /// <summary>Starts on an existing data directory (kept on dispose), e.g. to restart after a stop or a crash.</summary>
    public static Task<CatalogOrigin> StartInAsync(string dataDirectory, params string[] settings) => StartCoreAsync(dataDirectory, null, settings);

    private static async Task<CatalogOrigin> StartCoreAsync(string? dataDirectory, TestDatabase? database, string[] settings)
    {
        var owned = dataDirectory is null ? new TempDirectory("oc-catalog") : null;
        var secrets = new TempDirectory("oc-catalog-secrets");
        try
        {
            // Uploaders are made through the admin (an invite code), as in production: every origin
            // gets an admin unless the test provisions its own or none.
            const string Key = "--Origin:Catalog:AdminPasswordFile=";
            var own = settings.LastOrDefault(s => s.StartsWith(Key, StringComparison.Ordinal))?[Key.Length..];
            string[] admin = [];
            if (own is null)
            {
                own = secrets.Combine("admin-password.txt");
                await File.WriteAllTextAsync(own, AdminPassword + "\n");
                admin = [Key + own];
            }

            var adminPassword = own.Length == 0 ? null : (await File.ReadAllTextAsync(own)).Trim();
            var role = await RunningRole.StartAsync(OriginHost.Build, [$"--Origin:DataDirectory={dataDirectory ?? owned!.Path}", .. FastSettings, .. admin, .. settings]);
            return new CatalogOrigin(role, owned, secrets, adminPassword, database);
        }
        catch
        {
            secrets.Dispose();
            owned?.Dispose();
            throw;
        }
    }

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Logs in as the built-in admin (once) and returns its token.</summary>
    public async Task<string> AdminTokenAsync()
    {
        Assert.True(_adminPassword is not null, "this origin was started without an admin");
        if (_adminToken is null)
        {
            var login = await Client.PostAsJsonAsync("/api/v1/auth/login", new { name = AccountStore.AdminName, password = _adminPassword });
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            _adminToken = (await login.Content.ReadFromJsonAsync<LoginResult>(Json))!.Token;
        }

        return _adminToken;
    }

    /// <summary>A new invite code from the admin (makes one uploader).</summary>
    public async Task<string> InviteAsync()
    {
        var created = await SendAsync(HttpMethod.Post, "/api/v1/invites", await AdminTokenAsync(), new { });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<CreatedInvite>(Json))!.Code;
    }

    /// <summary>Registers (an uploader through an admin's invite code) and logs in; returns the token and the user.</summary>
    public async Task<(string Token, UserView User)> UserAsync(string name, string role = "viewer")
    {
        var register = role == "uploader"
            ? await Client.PostAsJsonAsync("/api/v1/auth/register", new { name, password = "correct horse battery", invite = await InviteAsync() })
            : await Client.PostAsJsonAsync("/api/v1/auth/register", new { name, password = "correct horse battery", role });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        var login = await Client.PostAsJsonAsync("/api/v1/auth/login", new { name, password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var result = (await login.Content.ReadFromJsonAsync<LoginResult>(Json))!;
        return (result.Token, result.User);
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? token, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null) =>
        Client.SendAsync(Request(method, path, token, body));

    public Task PublishAsync(string id, string title, string description = "", string[]? tags = null, string? channelId = null, string? uploaderId = null, double duration = 60) =>
        Titles.UpsertFromPipelineAsync(new TitleUpdate
        {
            Id = id,
            Status = TitleStatus.Published,
            Title = title,
            Description = description,
            Tags = tags ?? [],
            ChannelId = channelId,
            UploaderId = uploaderId,
            DurationSeconds = duration,
            HlsManifestUrl = $"/v/{id}/master.m3u8",
            DashManifestUrl = $"/v/{id}/manifest.mpd",
            Renditions = [new RenditionInfo("720p", 1280, 720, "h264", 3_000_000)],
        }, CancellationToken.None);

    public static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<ErrorBody>(Json);
        Assert.False(string.IsNullOrWhiteSpace(body?.Error));
        return body!.Error;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Role.DisposeAsync();
        _ownedDirectory?.Dispose();
        _secrets.Dispose();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
