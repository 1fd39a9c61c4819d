using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>A real origin (in-process Kestrel on 127.0.0.1:0) with a fresh data directory, plus account helpers.</summary>
internal sealed class CatalogOrigin : IAsyncDisposable
{
    /// <summary>Cheaper KDF cost and a generous rate limit so tests stay fast; the rate-limit test sets its own.</summary>
    public static readonly string[] FastSettings =
    [
        "--Origin:Catalog:PasswordIterations=10000",
        "--Origin:Catalog:RateLimitPerSecond=100000",
        "--Origin:Catalog:RateLimitBurst=100000",
    ];

    private readonly TempDirectory? _ownedDirectory;

    private CatalogOrigin(RunningRole role, TempDirectory? ownedDirectory)
    {
        Role = role;
        _ownedDirectory = ownedDirectory;
        Client = role.CreateClient();
    }

    public RunningRole Role { get; }

    public HttpClient Client { get; }

    public ICatalogTitles Titles => Role.Services.GetRequiredService<ICatalogTitles>();

    public static Task<CatalogOrigin> StartAsync(params string[] settings) => StartCoreAsync(null, settings);

    /// <summary>Starts on an existing data directory (kept on dispose), e.g. to restart after a stop or a crash.</summary>
    public static Task<CatalogOrigin> StartInAsync(string dataDirectory, params string[] settings) => StartCoreAsync(dataDirectory, settings);

    private static async Task<CatalogOrigin> StartCoreAsync(string? dataDirectory, string[] settings)
    {
        var owned = dataDirectory is null ? new TempDirectory("oc-catalog") : null;
        var role = await RunningRole.StartAsync(OriginHost.Build, [$"--Origin:DataDirectory={dataDirectory ?? owned!.Path}", .. FastSettings, .. settings]);
        return new CatalogOrigin(role, owned);
    }

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Registers and logs in; returns the token and the user.</summary>
    public async Task<(string Token, UserView User)> UserAsync(string name, string role = "viewer")
    {
        var register = await Client.PostAsJsonAsync("/api/v1/auth/register", new { name, password = "correct horse battery", role });
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
    }
}
