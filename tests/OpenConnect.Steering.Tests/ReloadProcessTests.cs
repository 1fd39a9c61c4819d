using System.Security.Cryptography;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// <c>systemctl reload</c> on the real steering process: SIGHUP rescans the prefix directory, names a
/// new signing key and restart-only settings as needing a restart, and keeps connections open.
/// </summary>
public sealed class ReloadProcessTests
{
    [Fact]
    public async Task Sighup_RescansPrefixTables_NamesANewSigningKeyAndRestartSettings_AndKeepsAnOpenConnection()
    {
        using var dir = new TempDirectory("openconnect-steering-reload");
        var prefixes = Directory.CreateDirectory(dir.Combine("prefixes")).FullName;
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "10.0.0.0/8\n");
        var state = dir.Combine("state");
        var config = dir.Combine("steering.json");
        WriteConfig(config, state, prefixes, heartbeat: "00:00:01");
        await using var steering = await RoleProcess.StartAsync("steering", typeof(SteeringHost).Assembly.Location, RoleProcess.DefaultSignals, () =>
        [
            "--config", config,
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
        ]);
        using var open = await RawHttp.ConnectAsync(steering.BaseAddress);
        var before = (await open.GetAsync("/no-such-path")).Status;
        Assert.Equal(1, await PrefixCountAsync(steering));

        // The operator adds a prefix, puts another signing key in place and changes a restart-only setting.
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "10.0.0.0/8\n192.0.2.0/24\n");
        var keyFile = Path.Combine(state, "keys", "steering-signing.key");
        var runningKey = await File.ReadAllTextAsync(keyFile);
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        WriteConfig(config, state, prefixes, heartbeat: "00:00:02");
        Assert.Contains("reload applied:", await steering.ReloadAsync(), StringComparison.Ordinal);

        Assert.Equal(2, await PrefixCountAsync(steering));
        var log = steering.Log;
        Assert.Contains("prefix tables (Steering:PrefixDirectory) replaced", log, StringComparison.Ordinal);
        Assert.Contains("reload: Steering:HeartbeatInterval changed: needs a restart", log, StringComparison.Ordinal);
        var signingKey = Assert.Single(log.Split('\n'), l => l.Contains("steering signing key refused", StringComparison.Ordinal));
        Assert.Contains("Steering:SigningKeyFile", signingKey, StringComparison.Ordinal);
        Assert.Contains("needs a restart", signingKey, StringComparison.Ordinal);
        Assert.Equal(before, (await open.GetAsync("/no-such-path")).Status);

        // A prefix file that does not parse is refused with the reason; the table in use stays.
        await File.WriteAllTextAsync(keyFile, runningKey);
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "not a prefix\n");
        await steering.ReloadAsync();
        Assert.Contains("prefix tables (Steering:PrefixDirectory) refused", steering.Log, StringComparison.Ordinal);
        Assert.Equal(2, await PrefixCountAsync(steering));
        Assert.Equal(before, (await open.GetAsync("/no-such-path")).Status);
    }

    [Fact]
    public async Task Sighup_IssuesSteeringsCertificateForNewServerNames_ToNewConnections_AndNamesAnotherFleetCaAsNeedingARestart()
    {
        using var dir = new TempDirectory("openconnect-steering-fleet-reload");
        var state = dir.Combine("state");
        var config = dir.Combine("steering.json");
        WriteFleetConfig(config, state, "steering-a.isp.example");
        Uri? enroll = null;
        await using var steering = await RoleProcess.StartAsync("steering", typeof(SteeringHost).Assembly.Location, RoleProcess.DefaultSignals, () =>
        {
            enroll = new Uri($"https://127.0.0.1:{RoleProcess.FreePort()}");
            return ["--config", config, "--Steering:ControlUrl=https://127.0.0.1:0", $"--Steering:Fleet:EnrollUrl={enroll.ToString().TrimEnd('/')}"];
        });

        using var open = await RawHttp.ConnectTlsAsync(enroll!);
        var before = (await open.GetAsync("/no-such-path")).Status;
        var first = open.ServerCertificate!;
        Assert.Contains("steering-a.isp.example", DnsNames(first));
        Assert.Equal("openconnect://steering", Contracts.Fleet.FleetIdentity.FromCertificate(first)?.ToString());

        // A reload with nothing changed keeps the certificate.
        Assert.Contains("reload applied:", await steering.ReloadAsync(), StringComparison.Ordinal);
        using (var same = await RawHttp.ConnectTlsAsync(enroll!))
        {
            Assert.Equal(first.Thumbprint, same.ServerCertificate!.Thumbprint);
        }

        // The operator renames steering: new connections get a certificate for the new name, the open one stays.
        WriteFleetConfig(config, state, "steering-b.isp.example");
        Assert.Contains("reload applied:", await steering.ReloadAsync(), StringComparison.Ordinal);
        using (var fresh = await RawHttp.ConnectTlsAsync(enroll!))
        {
            var second = fresh.ServerCertificate!;
            Assert.NotEqual(first.Thumbprint, second.Thumbprint);
            Assert.Contains("steering-b.isp.example", DnsNames(second));
            Assert.DoesNotContain("steering-a.isp.example", DnsNames(second));
            Assert.Equal("openconnect://steering", Contracts.Fleet.FleetIdentity.FromCertificate(second)?.ToString());
            Assert.Equal(second.Issuer, first.Issuer);
        }

        Assert.Equal(before, (await open.GetAsync("/no-such-path")).Status);
        var log = steering.Log;
        Assert.Contains("reload: Steering:Fleet:ServerNames:0 changed: applied", log, StringComparison.Ordinal);
        Assert.Contains("steering's fleet certificate (Steering:Fleet:ServerNames) replaced", log, StringComparison.Ordinal);

        // A name that is none is refused naming the key; another CA in the fleet directory needs a restart.
        WriteFleetConfig(config, state, "not a host name");
        Assert.Contains("reload refused:", await steering.ReloadAsync(), StringComparison.Ordinal);
        Assert.Contains("Steering:Fleet:ServerNames", Assert.Single(steering.Log.Split('\n'), l => l.Contains("reload refused, the running configuration stays", StringComparison.Ordinal)), StringComparison.Ordinal);
        WriteFleetConfig(config, state, "steering-b.isp.example");
        using (var other = FleetCertificates.Create(dir.Combine("other-fleet")))
        {
            File.Copy(other.CaCertificateFile, Path.Combine(state, "fleet", "ca.crt"), overwrite: true);
        }

        Assert.Contains("reload applied:", await steering.ReloadAsync(), StringComparison.Ordinal);
        var authority = Assert.Single(steering.Log.Split('\n'), l => l.Contains("fleet CA (Steering:Fleet:Directory) refused", StringComparison.Ordinal));
        Assert.Contains("needs a restart", authority, StringComparison.Ordinal);
        using (var after = await RawHttp.ConnectTlsAsync(enroll!))
        {
            Assert.Equal(first.Issuer, after.ServerCertificate!.Issuer);
            Assert.Contains("steering-b.isp.example", DnsNames(after.ServerCertificate));
        }

        Assert.Equal(before, (await open.GetAsync("/no-such-path")).Status);
    }

    private static List<string> DnsNames(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        [.. certificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())];

    private static void WriteFleetConfig(string path, string state, string serverName) =>
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Steering = new { DataDirectory = state, Fleet = new { ServerNames = new[] { serverName } } },
            Logging = new { LogLevel = new Dictionary<string, string> { ["Default"] = "Warning", ["OpenConnect.Hosting"] = "Information" } },
        }));

    private static async Task<int> PrefixCountAsync(RoleProcess steering)
    {
        using var management = steering.CreateManagementClient();
        using var health = JsonDocument.Parse(await management.GetStringAsync("/healthz"));
        return health.RootElement.GetProperty("checks").GetProperty("prefix-tables").GetProperty("data").GetProperty("prefixes").GetInt32();
    }

    private static void WriteConfig(string path, string state, string prefixes, string heartbeat) =>
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Steering = new { DataDirectory = state, PrefixDirectory = prefixes, PrefixReloadInterval = "01:00:00", HeartbeatInterval = heartbeat, HeartbeatExpiry = "00:00:05" },
            Logging = new { LogLevel = new Dictionary<string, string> { ["Default"] = "Warning", ["OpenConnect.Hosting"] = "Information" } },
        }));
}
