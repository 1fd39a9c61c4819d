using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>
/// Accounts under hostile users, over HTTP against a real origin: who may become an uploader
/// (invite codes, the admin's grant), reserved names, the admin name squatted before provisioning,
/// per-name login back-off, the bound on concurrent password hashes and registration's own rate limit.
/// </summary>
public abstract class AccountSafetyTests
{
    protected abstract CatalogEngine Engine { get; }

    private protected const string Password = "correct horse battery";

    [Fact]
    public async Task SelfRegistration_MakesViewers_WhoCannotUpload()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);

        var asUploader = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "eager", password = Password, role = "uploader" });
        Assert.Equal(HttpStatusCode.Forbidden, asUploader.StatusCode);
        Assert.Contains("invite code", await CatalogOrigin.ErrorOf(asUploader));
        var badInvite = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "eager", password = Password, role = "uploader", invite = "made-up-code" });
        Assert.Equal(HttpStatusCode.Forbidden, badInvite.StatusCode);
        Assert.Contains("unknown, spent, revoked or expired", await CatalogOrigin.ErrorOf(badInvite));

        // Neither attempt made the account; a plain registration makes a viewer without a channel.
        var plain = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "eager", password = Password });
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        var user = (await plain.Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json))!;
        Assert.Equal("viewer", user.Role);
        Assert.Null(user.ChannelId);

        var token = await SocialTests.LoginAsync(origin, "eager", Password);
        var upload = await origin.Client.SendAsync(CreateUpload(token));
        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Post, "/api/v1/channels", token, new { name = "mine" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Post, "/api/v1/invites", token, new { })).StatusCode);
    }

    [Fact]
    public async Task InviteCode_MakesOneUploader_ThenIsSpent()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var admin = await origin.AdminTokenAsync();
        var created = await origin.SendAsync(HttpMethod.Post, "/api/v1/invites", admin, new { expiresInSeconds = 3600 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var invite = (await created.Content.ReadFromJsonAsync<CreatedInvite>(CatalogOrigin.Json))!;
        Assert.True(invite.Code.Length >= 20);

        var first = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "invited", password = Password, invite = invite.Code });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var user = (await first.Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json))!;
        Assert.Equal("uploader", user.Role);
        Assert.NotNull(user.ChannelId);
        var token = await SocialTests.LoginAsync(origin, "invited", Password);
        Assert.Equal(HttpStatusCode.Created, (await origin.Client.SendAsync(CreateUpload(token))).StatusCode);

        // Spent: a second registration with it is refused and makes no account.
        var second = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "invited2", password = Password, role = "uploader", invite = invite.Code });
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Contains("spent", await CatalogOrigin.ErrorOf(second));
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "invited2", password = Password })).StatusCode);

        // A name already taken does not spend a code.
        var other = await origin.InviteAsync();
        Assert.Equal(HttpStatusCode.Conflict, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "INVITED", password = Password, invite = other })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "invited3", password = Password, invite = other })).StatusCode);

        // A revoked code makes nobody; a used one cannot be revoked.
        var revoked = await origin.SendAsync(HttpMethod.Post, "/api/v1/invites", admin, new { });
        var revokedInvite = (await revoked.Content.ReadFromJsonAsync<CreatedInvite>(CatalogOrigin.Json))!;
        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/invites/{revokedInvite.Id}", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "late", password = Password, invite = revokedInvite.Code })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/invites/{invite.Id}", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Delete, "/api/v1/invites/nosuchinvite", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/invites/{revokedInvite.Id}", token)).StatusCode);

        // The admin's list says what became of each, newest first, in pages.
        var list = await origin.SendAsync(HttpMethod.Get, "/api/v1/invites?limit=2", admin);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var page = (await list.Content.ReadFromJsonAsync<Page<InviteView>>(CatalogOrigin.Json))!;
        Assert.Equal(revokedInvite.Id, page.Items[0].Id);
        Assert.Equal("revoked", page.Items[0].State);
        Assert.Equal("used", page.Items[1].State);
        Assert.NotNull(page.NextCursor);
        var rest = (await (await origin.SendAsync(HttpMethod.Get, $"/api/v1/invites?cursor={page.NextCursor}", admin)).Content.ReadFromJsonAsync<Page<InviteView>>(CatalogOrigin.Json))!;
        var firstListed = Assert.Single(rest.Items);
        Assert.Equal(invite.Id, firstListed.Id);
        Assert.Equal("used", firstListed.State);
        Assert.Equal(user.Id, firstListed.UsedBy);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.SendAsync(HttpMethod.Get, "/api/v1/invites?cursor=garbage", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.SendAsync(HttpMethod.Post, "/api/v1/invites", admin, new { expiresInSeconds = 1 })).StatusCode);
    }

    [Fact]
    public async Task AdminGrantAndRevoke_ChangeTheRole_AndEndTheUsersSessions()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var admin = await origin.AdminTokenAsync();
        var (viewerToken, user) = await origin.UserAsync("henry");
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{user.Id}/uploader", viewerToken)).StatusCode);

        var granted = await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{user.Id}/uploader", admin);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        var uploader = (await granted.Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json))!;
        Assert.Equal("uploader", uploader.Role);
        Assert.NotNull(uploader.ChannelId);

        // The token from before the grant is revoked; a new login is an uploader's and can upload.
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Get, "/api/v1/auth/me", viewerToken)).StatusCode);
        var uploaderToken = await SocialTests.LoginAsync(origin, "henry", Password);
        Assert.Equal(HttpStatusCode.Created, (await origin.Client.SendAsync(CreateUpload(uploaderToken))).StatusCode);

        // Granting again changes nothing, so the session lives on.
        Assert.Equal(HttpStatusCode.OK, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{user.Id}/uploader", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await origin.SendAsync(HttpMethod.Get, "/api/v1/auth/me", uploaderToken)).StatusCode);

        var revoked = await origin.SendAsync(HttpMethod.Delete, $"/api/v1/users/{user.Id}/uploader", admin);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal("viewer", (await revoked.Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json))!.Role);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Client.SendAsync(CreateUpload(uploaderToken))).StatusCode);
        var viewerAgain = await SocialTests.LoginAsync(origin, "henry", Password);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.Client.SendAsync(CreateUpload(viewerAgain))).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Put, "/api/v1/users/nobody/uploader", admin)).StatusCode);
        var adminId = (await (await origin.SendAsync(HttpMethod.Get, "/api/v1/auth/me", admin)).Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json))!.Id;
        var demoteAdmin = await origin.SendAsync(HttpMethod.Delete, $"/api/v1/users/{adminId}/uploader", admin);
        Assert.Equal(HttpStatusCode.Conflict, demoteAdmin.StatusCode);
        Assert.Contains("admin", await CatalogOrigin.ErrorOf(demoteAdmin));
        var demoteBuiltIn = await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{adminId}/role", admin, new { role = "viewer" });
        Assert.Equal(HttpStatusCode.Conflict, demoteBuiltIn.StatusCode);
        Assert.Contains("built-in admin", await CatalogOrigin.ErrorOf(demoteBuiltIn));
        Assert.Equal(HttpStatusCode.OK, (await origin.SendAsync(HttpMethod.Get, "/api/v1/invites", admin)).StatusCode);
    }

    [Fact]
    public async Task ReservedNames_CannotBeRegistered()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine, "--Origin:Catalog:AdminPasswordFile=");
        foreach (var name in new[] { "admin", "ADMIN", "Administrator", "root", "System", "operator", "support", "ad.min", "_Root_", "sys-admin" })
        {
            var response = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name, password = Password });
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {response.StatusCode}");
            Assert.Contains("reserved", await CatalogOrigin.ErrorOf(response));
        }

        foreach (var name in new[] { "adminton", "rooted", "supportive" })
        {
            Assert.Equal(HttpStatusCode.Created, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name, password = Password })).StatusCode);
        }
    }

    private static HttpRequestMessage CreateUpload(string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/files/");
        request.Headers.Add("Tus-Resumable", "1.0.0");
        request.Headers.Add("Upload-Length", "1000");
        request.Headers.Add("Upload-Metadata", "filename " + Convert.ToBase64String("clip.mp4"u8.ToArray()));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }
}

/// <summary>Invites, role changes, reserved names on SQLite, and what only SQLite has.</summary>
public sealed class SqliteAccountSafetyTests : AccountSafetyTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;

    [Theory]
    [InlineData("admin", true)]
    [InlineData("AdMiN", true)]
    [InlineData("a.d.m.i.n", true)]
    [InlineData("Super_User", true)]
    [InlineData("postmaster", true)]
    [InlineData("admins", false)]
    [InlineData("alice", false)]
    public void ReservedNames_FoldCaseAndSeparators(string name, bool reserved) => Assert.Equal(reserved, ReservedNames.IsReserved(name));

    [Fact]
    public async Task AdminNameHeldBeforeProvisioning_IsNotPromoted_AndItsTokenStaysAViewers()
    {
        using var data = new TempDirectory("oc-squat");
        using var secrets = new TempDirectory("oc-squat-secrets");
        string squatterToken, squatterId;
        await using (var origin = await CatalogOrigin.StartInAsync(data.Path, "--Origin:Catalog:AdminPasswordFile="))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "admin", password = "squatter password" })).StatusCode);

            // An account named admin from before names were reserved: made by the store directly.
            var registration = await origin.Role.Services.GetRequiredService<AccountStore>().RegisterAsync("Admin", "squatter password", null, CancellationToken.None);
            Assert.Equal(RegistrationStatus.Created, registration.Status);
            squatterId = registration.User!.Id;
            squatterToken = await SocialTests.LoginAsync(origin, "admin", "squatter password");
        }

        // Provisioning the admin now refuses to start, naming the account; nothing is promoted.
        var adminFile = await SocialTests.AdminPasswordFileAsync(secrets);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => CatalogOrigin.StartInAsync(data.Path, $"--Origin:Catalog:AdminPasswordFile={adminFile}"));
        var message = OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:Catalog:AdminPasswordFile", message);
        Assert.Contains(squatterId, message);
        Assert.Contains("not promoted", message);

        await using (var origin = await CatalogOrigin.StartInAsync(data.Path, "--Origin:Catalog:AdminPasswordFile="))
        {
            var me = await origin.SendAsync(HttpMethod.Get, "/api/v1/auth/me", squatterToken);
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            Assert.Equal("viewer", (await me.Content.ReadFromJsonAsync<UserView>(CatalogOrigin.Json))!.Role);
            Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Post, "/api/v1/invites", squatterToken, new { })).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/users/{squatterId}/role", squatterToken, new { role = "admin" })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = CatalogOrigin.AdminPassword })).StatusCode);
        }
    }

    [Fact]
    public async Task AdminPasswordChangedInTheFile_RevokesTheAdminsTokens()
    {
        using var data = new TempDirectory("oc-admin-rotate");
        using var secrets = new TempDirectory("oc-admin-rotate-secrets");
        var file = secrets.Combine("admin.password");
        await File.WriteAllTextAsync(file, "first admin password\n");
        string before;
        await using (var origin = await CatalogOrigin.StartInAsync(data.Path, $"--Origin:Catalog:AdminPasswordFile={file}"))
        {
            before = await origin.AdminTokenAsync();
        }

        // The same password again keeps the session; a new one ends it.
        await using (var origin = await CatalogOrigin.StartInAsync(data.Path, $"--Origin:Catalog:AdminPasswordFile={file}"))
        {
            Assert.Equal(HttpStatusCode.OK, (await origin.SendAsync(HttpMethod.Get, "/api/v1/invites", before)).StatusCode);
        }

        await File.WriteAllTextAsync(file, "second admin password\n");
        await using (var origin = await CatalogOrigin.StartInAsync(data.Path, $"--Origin:Catalog:AdminPasswordFile={file}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Get, "/api/v1/invites", before)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = "first admin password" })).StatusCode);
            var after = await origin.AdminTokenAsync();
            Assert.Equal(HttpStatusCode.OK, (await origin.SendAsync(HttpMethod.Get, "/api/v1/invites", after)).StatusCode);
        }
    }

    [Fact]
    public async Task FailedLogins_BackOffPerName_UntilTheTimeIsUp_AndASuccessResets()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var role = await RunningRole.StartAsync(
            args => OriginHost.Build(args, services => services.AddSingleton<TimeProvider>(time)),
            [$"--Origin:DataDirectory={dir.Path}", .. CatalogOrigin.FastSettings, "--Origin:Catalog:LoginBackoffFailures=5", "--Origin:Catalog:LoginBackoffMax=00:00:30"]);
        using var client = role.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/auth/register", new { name = "frank", password = Password })).StatusCode);
        Task<HttpResponseMessage> Login(string name, string password) => client.PostAsJsonAsync("/api/v1/auth/login", new { name, password });

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login(i % 2 == 0 ? "frank" : "FRANK", "wrong password")).StatusCode);
        }

        // Blocked for 1 s: even the right password is refused, with Retry-After, under any spelling of the name.
        var blocked = await Login("frank", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), blocked.Headers.RetryAfter?.Delta);
        Assert.Contains("failed logins", await CatalogOrigin.ErrorOf(blocked));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Login("Frank", Password)).StatusCode);

        // One more failure after the block doubles it to 2 s.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login("frank", "wrong password")).StatusCode);
        var doubled = await Login("frank", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, doubled.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), doubled.Headers.RetryAfter?.Delta);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Login("frank", Password)).StatusCode);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await Login("frank", Password)).StatusCode);

        // The success reset the count: one failure is not blocked any more.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login("frank", "wrong password")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Login("frank", Password)).StatusCode);

        // Names that do not exist back off the same way (the answers do not tell which names exist),
        // up to the configured cap.
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login("nobody-here", "wrong password")).StatusCode);
            time.Advance(TimeSpan.FromSeconds(31));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await Login("nobody-here", "wrong password")).StatusCode);
        var capped = await Login("nobody-here", "wrong password");
        Assert.Equal(HttpStatusCode.TooManyRequests, capped.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), capped.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, (await Login("frank", Password)).StatusCode);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(4, 16)]
    [InlineData(9, 512)]
    [InlineData(10, 900)]
    [InlineData(62, 900)]
    public void BackoffDelay_DoublesFromTheBase_UpToTheCap(int excess, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), LoginBackoff.Delay(excess, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(15)));

    [Fact]
    public async Task InviteCodes_Expire()
    {
        using var dir = new TempDirectory();
        using var secrets = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var role = await RunningRole.StartAsync(
            args => OriginHost.Build(args, services => services.AddSingleton<TimeProvider>(time)),
            [$"--Origin:DataDirectory={dir.Path}", .. CatalogOrigin.FastSettings, $"--Origin:Catalog:AdminPasswordFile={await SocialTests.AdminPasswordFileAsync(secrets)}", "--Origin:Catalog:InviteLifetime=00:10:00"]);
        using var client = role.CreateClient();
        var login = await (await client.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = CatalogOrigin.AdminPassword })).Content.ReadFromJsonAsync<LoginResult>(CatalogOrigin.Json);
        var invite = await (await client.SendAsync(CatalogOrigin.Request(HttpMethod.Post, "/api/v1/invites", login!.Token, new { }))).Content.ReadFromJsonAsync<CreatedInvite>(CatalogOrigin.Json);
        Assert.Equal(time.GetUtcNow().AddMinutes(10), invite!.ExpiresAt);

        time.Advance(TimeSpan.FromMinutes(10));
        var late = await client.PostAsJsonAsync("/api/v1/auth/register", new { name = "tardy", password = Password, invite = invite.Code });
        Assert.Equal(HttpStatusCode.Forbidden, late.StatusCode);
        Assert.Contains("expired", await CatalogOrigin.ErrorOf(late));
        var list = await (await client.SendAsync(CatalogOrigin.Request(HttpMethod.Get, "/api/v1/invites", login.Token))).Content.ReadFromJsonAsync<Page<InviteView>>(CatalogOrigin.Json);
        Assert.Equal("expired", Assert.Single(list!.Items).State);
    }

    [Fact]
    public async Task ConcurrentLogins_BeyondTheHashBound_Answer503_AndNeverRunMoreHashesThanTheBound()
    {
        // A costly hash (like production's) so the logins overlap; one slot and one queue place.
        await using var origin = await CatalogOrigin.StartAsync(Engine,
            "--Origin:Catalog:AdminPasswordFile=", "--Origin:Catalog:PasswordIterations=1000000", "--Origin:Catalog:PasswordHashConcurrency=1", "--Origin:Catalog:PasswordHashQueue=1");
        Assert.Equal(HttpStatusCode.Created, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "gina", password = Password })).StatusCode);

        const int Logins = 12;
        var responses = await Task.WhenAll(Enumerable.Range(0, Logins).Select(_ => origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "gina", password = Password })));
        var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var busy = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.Equal(Logins, ok + busy.Count);
        Assert.InRange(ok, 2, Logins - 1);
        foreach (var response in busy)
        {
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            Assert.Contains("busy", await CatalogOrigin.ErrorOf(response));
        }

        var gate = origin.Role.Services.GetRequiredService<PasswordHashGate>();
        Assert.Equal(1, gate.PeakRunning);
        Assert.Equal(busy.Count, gate.Refused);
        var metrics = await origin.Role.MetricsAsync();
        Assert.Equal(busy.Count, metrics.Value("openconnect_origin_logins_total", ("result", "busy")));
        Assert.Equal(ok, metrics.Value("openconnect_origin_logins_total", ("result", "ok")));

        // Once the burst is over, a login goes through again.
        Assert.Equal(HttpStatusCode.OK, (await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "gina", password = Password })).StatusCode);
    }

    [Fact]
    public async Task Registration_IsRateLimitedHarderThanReads()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine, "--Origin:Catalog:RegistrationBurst=3", "--Origin:Catalog:RegistrationInterval=01:00:00");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = $"reg{i}", password = Password })).StatusCode);
        }

        var limited = await origin.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "reg3", password = Password });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("too many requests", await CatalogOrigin.ErrorOf(limited));

        // Reads and logins from the same client are still served.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await origin.Client.GetAsync("/api/v1/titles")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name = "reg0", password = Password })).StatusCode);
    }

    [Fact]
    public async Task BadAccountSettings_StopTheStart_NamingTheKey()
    {
        using var dir = new TempDirectory();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", "--Origin:Catalog:PasswordHashConcurrency=0", "--Origin:Catalog:LoginBackoffMax=00:00:00.5", "--Origin:Catalog:RegistrationBurst=0"));
        var message = OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:Catalog:PasswordHashConcurrency", message);
        Assert.Contains("Origin:Catalog:LoginBackoffMax", message);
        Assert.Contains("Origin:Catalog:RegistrationBurst", message);
    }
}

/// <summary>Invites, role changes, reserved names on PostgreSQL.</summary>
public sealed class PostgresAccountSafetyTests : AccountSafetyTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
