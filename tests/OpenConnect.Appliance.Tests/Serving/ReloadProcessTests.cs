using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// <c>systemctl reload</c> on the real appliance process: SIGHUP with a keep-alive TLS connection
/// open, after the operator changed the config file and put a new certificate in place.
/// </summary>
public sealed class ReloadProcessTests
{
    private const string Segment = "/v/t1/v0/seg-00001.m4s";

    [Fact]
    public async Task Sighup_KeepsAnOpenConnection_ServesTheNewCertificateToNewOnes_AppliesUnsignedNetworks_AndNamesRestartSettings()
    {
        using var dir = new TempDirectory("openconnect-appliance-reload");
        var (certificateFile, keyFile) = (dir.Combine("tls.crt"), dir.Combine("tls.key"));
        using var first = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=appliance before");
        var config = dir.Combine("appliance.json");
        WriteConfig(config, dir.Combine("cache"), unsignedNetwork: "10.0.0.0/8", ramBytes: 64 << 20);
        var (appliance, data) = await RoleProcess.StartHttpsAsync("appliance", typeof(ApplianceHost).Assembly.Location, config, certificateFile, keyFile);
        await using var running = appliance;

        // Unsigned /v/… from loopback: refused while UnsignedNetworks does not hold it.
        using var open = await RawHttp.ConnectTlsAsync(data);
        Assert.Equal(first.Thumbprint, open.ServerCertificate!.Thumbprint);
        var refused = await open.GetAsync(Segment);
        Assert.Equal(403, refused.Status);
        Assert.Equal("playback token missing", refused.Text.Trim());

        using var second = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=appliance after");
        WriteConfig(config, dir.Combine("cache"), unsignedNetwork: "127.0.0.0/8", ramBytes: 128 << 20);
        Assert.Contains("reload applied:", await appliance.ReloadAsync(), StringComparison.Ordinal);

        // New connections: the new certificate and the new UnsignedNetworks (no parent holds the segment).
        using var fresh = await RawHttp.ConnectTlsAsync(data);
        Assert.Equal(second.Thumbprint, fresh.ServerCertificate!.Thumbprint);
        var admitted = await fresh.GetAsync(Segment);
        Assert.NotEqual(403, admitted.Status);
        // The connection opened before the reload still answers.
        Assert.Equal(admitted.Status, (await open.GetAsync(Segment)).Status);

        var log = appliance.Log;
        Assert.Contains("reload: Appliance:UnsignedNetworks:0 changed: applied", log, StringComparison.Ordinal);
        Assert.Contains("reload: Appliance:Cache:RamBytes changed: needs a restart", log, StringComparison.Ordinal);
        Assert.Contains("content TLS certificate (Kestrel:Certificates:Default) replaced", log, StringComparison.Ordinal);

        // A value that fails validation is refused naming the key; the running configuration stays.
        File.WriteAllText(config, JsonSerializer.Serialize(new { Appliance = new { UnsignedNetworks = new[] { "not-a-network" }, Upstream = new { AllowUnsignedContent = true } } }));
        Assert.Contains("reload refused:", await appliance.ReloadAsync(), StringComparison.Ordinal);
        var refusal = Assert.Single(appliance.Log.Split('\n'), l => l.Contains("reload refused, the running configuration stays", StringComparison.Ordinal));
        Assert.Contains("Appliance:UnsignedNetworks:0 = 'not-a-network'", refusal, StringComparison.Ordinal);
        Assert.Equal(admitted.Status, (await open.GetAsync(Segment)).Status);
    }

    private static void WriteConfig(string path, string cacheDirectory, string unsignedNetwork, long ramBytes) =>
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Appliance = new
            {
                UnsignedNetworks = new[] { unsignedNetwork },
                Cache = new { Directory = cacheDirectory, RamBytes = ramBytes },
                Upstream = new { AllowUnsignedContent = true },
            },
            Logging = new { LogLevel = new Dictionary<string, string> { ["Default"] = "Warning", ["OpenConnect.Hosting"] = "Information" } },
        }));
}
