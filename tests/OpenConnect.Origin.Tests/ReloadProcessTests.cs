using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests;

/// <summary>
/// <c>systemctl reload</c> on the real origin process: SIGHUP with a keep-alive TLS connection open,
/// after the operator changed the config file and put a new certificate in place.
/// </summary>
public sealed class ReloadProcessTests
{
    [Fact]
    public async Task Sighup_KeepsAnOpenConnection_ServesTheNewCertificateToNewOnes_AppliesParentNetworks_AndNamesRestartSettings()
    {
        using var dir = new TempDirectory("openconnect-origin-reload");
        var (certificateFile, keyFile) = (dir.Combine("tls.crt"), dir.Combine("tls.key"));
        using var first = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=origin before");
        var config = dir.Combine("origin.json");
        WriteConfig(config, dir.Combine("data"), parentNetworks: "10.0.0.0/8");
        var (origin, data) = await RoleProcess.StartHttpsAsync("origin", typeof(OriginHost).Assembly.Location, config, certificateFile, keyFile);
        await using var running = origin;

        // Unsigned /v/… from loopback: refused while ParentNetworks does not hold it.
        using var open = await RawHttp.ConnectTlsAsync(data);
        Assert.Equal(first.Thumbprint, open.ServerCertificate!.Thumbprint);
        Assert.Equal(403, (await open.GetAsync("/v/t1/manifest.json")).Status);

        using var second = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=origin after");
        WriteConfig(config, dir.Combine("data-moved"), parentNetworks: "127.0.0.0/8");
        var outcome = await origin.ReloadAsync();
        Assert.Contains("reload applied:", outcome, StringComparison.Ordinal);

        // The open connection still answers, now under the new ParentNetworks (no such title: 404).
        Assert.Equal(404, (await open.GetAsync("/v/t1/manifest.json")).Status);
        using var fresh = await RawHttp.ConnectTlsAsync(data);
        Assert.Equal(second.Thumbprint, fresh.ServerCertificate!.Thumbprint);
        Assert.Equal(404, (await fresh.GetAsync("/v/t1/manifest.json")).Status);

        var log = origin.Log;
        Assert.Contains("reload: Origin:ParentNetworks:0 changed: applied", log, StringComparison.Ordinal);
        Assert.Contains("reload: Origin:DataDirectory changed: needs a restart", log, StringComparison.Ordinal);
        Assert.Contains("content TLS certificate (Kestrel:Certificates:Default) replaced", log, StringComparison.Ordinal);

        // A file that does not parse is refused as a whole; the origin keeps serving as before.
        File.WriteAllText(config, "{ \"Origin\": ");
        Assert.Contains("reload refused:", await origin.ReloadAsync(), StringComparison.Ordinal);
        Assert.Contains("origin.json", origin.Log, StringComparison.Ordinal);
        Assert.Equal(404, (await open.GetAsync("/v/t1/manifest.json")).Status);
        using var management = origin.CreateManagementClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode);
    }

    private static void WriteConfig(string path, string dataDirectory, string parentNetworks) =>
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Origin = new { DataDirectory = dataDirectory, ParentNetworks = new[] { parentNetworks } },
            Logging = new { LogLevel = new Dictionary<string, string> { ["Default"] = "Warning", ["OpenConnect.Hosting"] = "Information" } },
        }));
}
