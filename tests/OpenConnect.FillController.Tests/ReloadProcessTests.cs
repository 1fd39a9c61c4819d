using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests;

/// <summary>
/// <c>systemctl reload</c> on the real fill-controller process: SIGHUP with a keep-alive connection
/// open, after the operator changed the config file and put a renewed fleet certificate in place.
/// </summary>
public sealed class ReloadProcessTests
{
    [Fact]
    public async Task Sighup_KeepsAnOpenConnection_ServesTheRenewedFleetCertificate_AppliesLogLevels_NamesRestartSettings_AndRefusesBrokenFiles()
    {
        using var dir = new TempDirectory("openconnect-fill-reload");
        using var fleet = FleetCertificates.Create(dir.Combine("steering-fleet"));
        var fleetDirectory = dir.Combine("fleet");
        var (certificateFile, keyFile) = fleet.WriteService(fleetDirectory, "fill-controller", "openconnect://fill-controller");
        var config = dir.Combine("fill-controller.json");
        WriteConfig(config, dir.Combine("data"), certificateFile, keyFile, fleet.CaCertificateFile, collect: "00:05:00", fillLogLevel: "Warning");
        var closed = $"127.0.0.1:{RoleProcess.FreePort()}";
        Uri? control = null;
        await using var controller = await RoleProcess.StartAsync("fill-controller", typeof(FillControllerHost).Assembly.Location, RoleProcess.DefaultSignals, () =>
        {
            control = new Uri($"https://127.0.0.1:{RoleProcess.FreePort()}");
            return
            [
                "--config", config,
                $"--FillController:Fill:ControlUrl={control.ToString().TrimEnd('/')}",
                $"--FillController:Fill:SteeringControlUrl=https://{closed}",
                $"--FillController:Steering:Url=http://{closed}",
                $"--FillController:Origin:Url=http://{closed}",
            ];
        });

        using var open = await RawHttp.ConnectAsync(controller.BaseAddress);
        var before = (await open.GetAsync("/no-such-path")).Status;
        var first = await ServedCertificateAsync(control!);
        Assert.Equal(OnDisk(certificateFile), first.Thumbprint);

        // The operator puts a renewed certificate and key in place and changes a live and a restart-only setting.
        fleet.WriteService(fleetDirectory, "fill-controller", "openconnect://fill-controller");
        WriteConfig(config, dir.Combine("data"), certificateFile, keyFile, fleet.CaCertificateFile, collect: "00:10:00", fillLogLevel: "Information");
        Assert.Contains("reload applied:", await controller.ReloadAsync(), StringComparison.Ordinal);

        var second = await ServedCertificateAsync(control!);
        Assert.NotEqual(first.Thumbprint, second.Thumbprint);
        Assert.Equal(OnDisk(certificateFile), second.Thumbprint);
        Assert.Equal(before, (await open.GetAsync("/no-such-path")).Status);
        var log = controller.Log;
        Assert.Contains("reload: Logging:LogLevel:OpenConnect.FillController changed: applied", log, StringComparison.Ordinal);
        Assert.Contains("reload: FillController:CollectInterval changed: needs a restart", log, StringComparison.Ordinal);
        Assert.Contains("fleet certificate (FillController:Fleet) replaced", log, StringComparison.Ordinal);

        // A certificate file that does not parse is refused naming the setting; the renewed one stays in use.
        await File.WriteAllTextAsync(certificateFile, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
        await controller.ReloadAsync();
        var refusal = Assert.Single(controller.Log.Split('\n'), l => l.Contains("fleet certificate (FillController:Fleet) refused", StringComparison.Ordinal));
        Assert.Contains("FillController:Fleet:CertificateFile", refusal, StringComparison.Ordinal);
        Assert.Equal(second.Thumbprint, (await ServedCertificateAsync(control!)).Thumbprint);

        // Another CA in the CA file is a new fleet: named as needing a restart, the running CA stays.
        using var other = FleetCertificates.Create(dir.Combine("other-fleet"));
        File.Copy(other.CaCertificateFile, fleet.CaCertificateFile, overwrite: true);
        await controller.ReloadAsync();
        var authority = Assert.Single(controller.Log.Split('\n'), l => l.Contains("FillController:Fleet:CaCertificateFile", StringComparison.Ordinal) && l.Contains("refused", StringComparison.Ordinal));
        Assert.Contains("needs a restart", authority, StringComparison.Ordinal);
        Assert.Equal(second.Thumbprint, (await ServedCertificateAsync(control!)).Thumbprint);
        Assert.Equal(before, (await open.GetAsync("/no-such-path")).Status);
    }

    /// <summary>The certificate the control listener presents to a new TLS handshake.</summary>
    private static async Task<X509Certificate2> ServedCertificateAsync(Uri control)
    {
        using var connection = await RawHttp.ConnectTlsAsync(control);
        return connection.ServerCertificate!;
    }

    private static string OnDisk(string certificateFile)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
        return certificate.Thumbprint;
    }

    private static void WriteConfig(string path, string dataDirectory, string certificateFile, string keyFile, string caCertificateFile, string collect, string fillLogLevel) =>
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            FillController = new
            {
                DataDirectory = dataDirectory,
                CollectInterval = collect,
                Fleet = new { CertificateFile = certificateFile, KeyFile = keyFile, CaCertificateFile = caCertificateFile },
            },
            Logging = new
            {
                LogLevel = new Dictionary<string, string>
                {
                    ["Default"] = "Warning",
                    ["OpenConnect.Hosting"] = "Information",
                    ["OpenConnect.FillController"] = fillLogLevel,
                },
            },
        }));
}
