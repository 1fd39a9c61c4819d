using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

public abstract class AccountTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task RegisterLoginMe_AndTheUsualMistakes()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (token, user) = await origin.UserAsync("carol", "uploader");
        Assert.Equal("uploader", user.Role);
        Assert.NotNull(user.ChannelId);
        var me = await (await origin.SendAsync(HttpMethod.Get, "/api/v1/auth/me", token)).Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json);
        Assert.Equal(user.Id, me!.Id);

        var duplicate = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "CAROL", password = "another password" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Contains("taken", await CatalogOrigin.ErrorOf(duplicate));
        var wrong = await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "carol", password = "wrong password" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "nobody", password = "whatever1" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "x", password = "long enough" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "shortpw", password = "short" })).StatusCode);
        var selfAdmin = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "sneaky", password = "long enough", role = "admin" });
        Assert.Equal(HttpStatusCode.BadRequest, selfAdmin.StatusCode);
        Assert.Contains("role", await CatalogOrigin.ErrorOf(selfAdmin));
    }

    [Fact]
    public async Task AdminsChangeRoles_OthersCannot()
    {
        using var secrets = new TempDirectory("oc-admin");
        await using var origin = await CatalogOrigin.StartAsync(Engine, $"--Origin:Catalog:AdminPasswordFile={await SocialTests.AdminPasswordFileAsync(secrets)}");
        var admin = await SocialTests.LoginAsync(origin, "admin", "admin password 1");
        var (viewer, viewerUser) = await origin.UserAsync("dave");
        Assert.Null(viewerUser.ChannelId);

        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{viewerUser.Id}/role", viewer, new { role = "admin" })).StatusCode);
        var promoted = await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{viewerUser.Id}/role", admin, new { role = "uploader" });
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        var user = await promoted.Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json);
        Assert.Equal("uploader", user!.Role);
        Assert.NotNull(user.ChannelId);
        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Put, "/api/v1/users/nobody/role", admin, new { role = "uploader" })).StatusCode);

        // The role change revoked the viewer's token; a new login carries the new role.
        var tokens = origin.Role.Services.GetRequiredService<IAccessTokens>();
        Assert.Null(await tokens.ValidateAsync(viewer, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Post, "/api/v1/channels", viewer, new { name = "Dave's second channel" })).StatusCode);
        var uploader = await SocialTests.LoginAsync(origin, "dave", "correct horse battery");
        Assert.Equal(HttpStatusCode.Created, (await origin.SendAsync(HttpMethod.Post, "/api/v1/channels", uploader, new { name = "Dave's second channel" })).StatusCode);
        Assert.Equal(UserRole.Uploader, (await tokens.ValidateAsync(uploader, CancellationToken.None))!.Role);
        Assert.Null(await tokens.ValidateAsync("not-a-token", CancellationToken.None));
    }
}

/// <summary>Registration, login, roles on SQLite, and what only SQLite has.</summary>
public sealed class SqliteAccountTests : AccountTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;

    [Fact]
    public async Task Tokens_ExpireAfterTheirLifetime()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var role = await RunningRole.StartAsync(
            args => OriginHost.Build(args, services => services.AddSingleton<TimeProvider>(time)),
            [$"--Origin:DataDirectory={dir.Path}", .. CatalogOrigin.FastSettings, "--Origin:Catalog:TokenLifetime=01:00:00"]);
        using var client = role.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/auth/register", new { name = "erin", password = "long enough" })).StatusCode);
        var login = await (await client.PostAsJsonAsync("/api/v1/auth/login", new { name = "erin", password = "long enough" })).Content.ReadFromJsonAsync<LoginResult>(CatalogOrigin.Json);
        Assert.Equal(time.GetUtcNow().AddHours(1), login!.ExpiresAt);

        time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(CatalogOrigin.Request(HttpMethod.Get, "/api/v1/auth/me", login.Token))).StatusCode);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(CatalogOrigin.Request(HttpMethod.Get, "/api/v1/auth/me", login.Token))).StatusCode);
    }

    [Fact]
    public async Task RateLimit_Answers429WithRetryAfter_PerClient()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine, "--Origin:Catalog:RateLimitPerSecond=1", "--Origin:Catalog:RateLimitBurst=5");
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 8; i++)
        {
            var response = await origin.Client.GetAsync("/api/v1/titles/none");
            statuses.Add(response.StatusCode);
            limited = response.StatusCode == HttpStatusCode.TooManyRequests ? response : limited;
        }

        // The bucket holds 5 and refills 1 per second: at most one refill can land during the loop.
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.NotFound), 5, 6);
        Assert.NotNull(limited);
        Assert.True(limited!.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("too many requests", await CatalogOrigin.ErrorOf(limited));
        Assert.Equal(HttpStatusCode.OK, (await origin.Role.GetManagementAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task QoeBeacons_AreRateLimitedPerClient_LikeTheApi()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine, "--Origin:Catalog:RateLimitPerSecond=1", "--Origin:Catalog:RateLimitBurst=3");
        const string Beacon = """{"kind":"progress","session":"session-0001","title":"t1","player":"hls","abr":"seed","playSeconds":10}""";
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 6; i++)
        {
            var response = await origin.Client.PostAsync("/api/qoe", new StringContent(Beacon, System.Text.Encoding.UTF8, "text/plain"));
            statuses.Add(response.StatusCode);
            limited = response.StatusCode == HttpStatusCode.TooManyRequests ? response : limited;
        }

        // The first beacons are accepted (so the body is valid); past the bucket, 429 with Retry-After.
        Assert.Equal(HttpStatusCode.NoContent, statuses[0]);
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.NoContent), 3, 4);
        Assert.NotNull(limited);
        Assert.True(limited!.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void PasswordHashes_UsePbkdf2_WithTheConfiguredCost()
    {
        var hash = PasswordHasher.Hash("correct horse", 600_000);
        Assert.StartsWith("pbkdf2-sha256$600000$", hash);
        Assert.True(PasswordHasher.Verify("correct horse", hash));
        Assert.False(PasswordHasher.Verify("correct horsf", hash));
        Assert.NotEqual(hash, PasswordHasher.Hash("correct horse", 600_000));
        Assert.Equal(600_000, new CatalogOptions().PasswordIterations);
    }

    [Fact]
    public async Task BadSettings_StopTheStart_NamingTheKey()
    {
        using var dir = new TempDirectory();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", "--Origin:Catalog:ViewFlushInterval=00:00:00", "--Origin:Catalog:RateLimitBurst=0"));
        var message = OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:Catalog:ViewFlushInterval", message);
        Assert.Contains("Origin:Catalog:RateLimitBurst", message);
    }
}

/// <summary>Registration, login, roles on PostgreSQL.</summary>
public sealed class PostgresAccountTests : AccountTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
