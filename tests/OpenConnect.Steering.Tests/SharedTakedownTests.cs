using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Origin;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using OpenConnect.Steering.Takedown;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// Two origin instances on one PostgreSQL catalog, both reporting their takedown list to steering:
/// the list is the catalog's, so neither instance's periodic report undoes the other's takedown.
/// </summary>
public sealed class SharedTakedownTests
{
    private const string AdminPassword = "admin password 1";
    private const string TitleId = "shared-title";

    [Fact]
    public async Task ATakedownOnOneInstance_HoldsOnTheOther_AndALiftOnTheOtherReachesTheFirst()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        await using var database = await TestDatabase.CreateAsync();
        var files = WriteOriginCredentials(h);
        await using var a = await StartOriginAsync(h, database, files, "a");
        await using var b = await StartOriginAsync(h, database, files, "b");
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var admin = await AdminTokenAsync(clientA);
        var registry = h.Steering.Services.GetRequiredService<TakedownRegistry>();

        using (var down = await SendAsync(clientA, HttpMethod.Put, $"/api/v1/titles/{TitleId}/takedown", admin))
        {
            Assert.Equal(HttpStatusCode.OK, down.StatusCode);
        }

        await EventuallyAsync(() => Task.FromResult(registry.IsTakenDown(TitleId, out _)), "steering did not list the title A took down");

        // B's reports after the takedown (its refresh interval is 1 s) carry the shared list, so steering keeps the title down.
        var reporterB = Reporter(b);
        var seen = reporterB.Reports;
        await EventuallyAsync(() => Task.FromResult(reporterB.Reports >= seen + 2), "B did not report twice");
        Assert.True(registry.IsTakenDown(TitleId, out var reason), "B's report undid A's takedown at steering");
        Assert.Equal(TitleTakedowns.Unpublished, reason);
        using (var onB = await clientB.GetAsync($"/v/{TitleId}/master.m3u8"))
        {
            Assert.Equal(HttpStatusCode.Gone, onB.StatusCode);
        }

        using (var listed = await SendAsync(clientB, HttpMethod.Get, "/api/v1/takedowns", admin))
        {
            Assert.Contains($"\"{TitleId}\"", await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Lifted on B: A serves it again, and steering drops it from the list.
        using (var lifted = await SendAsync(clientB, HttpMethod.Delete, $"/api/v1/titles/{TitleId}/takedown", admin))
        {
            Assert.Equal(HttpStatusCode.NoContent, lifted.StatusCode);
        }

        await EventuallyAsync(async () =>
        {
            using var onA = await clientA.GetAsync($"/v/{TitleId}/master.m3u8");
            return onA.StatusCode == HttpStatusCode.OK;
        }, "A did not serve the title B republished");
        await EventuallyAsync(() => Task.FromResult(!registry.IsTakenDown(TitleId, out _)), "steering kept the title B republished");
        var reporterA = Reporter(a);
        seen = reporterA.Reports;
        await EventuallyAsync(() => Task.FromResult(reporterA.Reports >= seen + 2), "A did not report twice");
        Assert.False(registry.IsTakenDown(TitleId, out _), "A's report put the lifted takedown back");
    }

    private static TakedownReporter Reporter(RunningRole origin) =>
        origin.Services.GetServices<IHostedService>().OfType<TakedownReporter>().Single();

    private static async Task<RunningRole> StartOriginAsync(SteeringHarness h, TestDatabase database, (string Certificate, string Key, string Ca, string Admin) files, string name)
    {
        var data = h.State.Combine("origin-" + name);
        var origin = await RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={data}",
            "--Origin:Catalog:PasswordIterations=10000",
            "--Origin:Catalog:Database:Provider=PostgreSql",
            $"--Origin:Catalog:Database:ConnectionString={database.ConnectionString}",
            $"--Origin:Catalog:AdminPasswordFile={files.Admin}",
            $"--Origin:Fleet:SteeringControlUrl={h.ControlAddress.ToString().TrimEnd('/')}",
            $"--Origin:Fleet:CertificateFile={files.Certificate}",
            $"--Origin:Fleet:KeyFile={files.Key}",
            $"--Origin:Fleet:CaCertificateFile={files.Ca}",
            "--Origin:Fleet:TakedownRefreshInterval=00:00:01",
            "--Origin:Fleet:TakedownRetryInterval=00:00:00.2");
        // Each instance's object store holds the title (as a shared bucket would).
        var staging = h.State.Combine("staging-" + name);
        await PackagedTitle.CopyToAsync(staging);
        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync(TitleId, staging, CancellationToken.None);
        return origin;
    }

    /// <summary>The origin's fleet certificate (from steering's CA), its key (mode 0600), the CA certificate and the admin password file.</summary>
    private static (string Certificate, string Key, string Ca, string Admin) WriteOriginCredentials(SteeringHarness h)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=origin", key, HashAlgorithmName.SHA256);
        using var certificate = h.Fleet.Authority.Issue(request.PublicKey, FleetIdentity.Origin, TimeSpan.FromDays(7), server: true, []);
        var directory = h.State.Combine("origin-fleet");
        Directory.CreateDirectory(directory);
        var files = (Path.Combine(directory, "origin.crt"), Path.Combine(directory, "origin.key"), Path.Combine(directory, "ca.crt"), Path.Combine(directory, "admin-password.txt"));
        File.WriteAllText(files.Item1, certificate.ExportCertificatePem());
        File.WriteAllText(files.Item2, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(files.Item3, h.Fleet.Authority.Certificate.ExportCertificatePem());
        File.WriteAllText(files.Item4, AdminPassword + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(files.Item2, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetUnixFileMode(files.Item4, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return files;
    }

    private static async Task<string> AdminTokenAsync(HttpClient client)
    {
        using var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { name = AccountStore.AdminName, password = AdminPassword });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("token").GetString()!;
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure + " within 20 s");
            await Task.Delay(50);
        }
    }
}
