using OpenConnect.Appliance;
using OpenConnect.Testing;

namespace OpenConnect.Cli.Tests;

/// <summary>A fleet CA for the CLI tests, a foreign one, and certificate files written as an operator keeps them.</summary>
public sealed class TestFleetFiles : IDisposable
{
    /// <param name="caDirectory">Where the CA is written (steering's fleet directory, to be steering's CA); default: a directory of its own.</param>
    public TestFleetFiles(string? caDirectory = null)
    {
        Directory = new TempDirectory("openconnect-cli-fleet");
        Ca = FleetCertificates.Create(caDirectory ?? Directory.Combine("ca"));
        Foreign = FleetCertificates.Create(Directory.Combine("foreign"));
    }

    public TempDirectory Directory { get; }

    public FleetCertificates Ca { get; }

    /// <summary>A CA the fleet does not trust.</summary>
    public FleetCertificates Foreign { get; }

    /// <summary>The <c>--cert --key --ca</c> arguments for a certificate naming <paramref name="identity"/> from <paramref name="issuer"/> (default: the fleet CA).</summary>
    public string[] Credentials(string identity, FleetCertificates? issuer = null, string? ca = null)
    {
        issuer ??= Ca;
        var name = Guid.NewGuid().ToString("N");
        var (certificate, key) = issuer.WriteService(Directory.Combine("clients"), name, identity);
        return ["--cert", certificate, "--key", key, "--ca", ca ?? Ca.CaCertificateFile];
    }

    /// <summary>Starts an appliance enrolled as <paramref name="site"/>/<paramref name="id"/> by this CA, with its control listener, in front of <paramref name="parent"/>.</summary>
    public Task<RunningRole> StartApplianceAsync(string site, string id, Uri parent, params string[] settings)
    {
        var fleetDirectory = Directory.Combine($"{site}-{id}-fleet");
        Ca.WriteAppliance(fleetDirectory, site, id).Dispose();
        return RunningRole.StartAsync(
            ApplianceHost.Build,
            [
                $"--Appliance:Id={id}",
                $"--Appliance:Site={site}",
                $"--Appliance:Cache:Directory={Directory.Combine($"{site}-{id}-cache")}",
                "--Appliance:ControlUrl=https://127.0.0.1:0",
                "--Appliance:Upstream:AllowUnsignedContent=true",
                $"--Appliance:Parents:0={parent}",
                .. Ca.ApplianceSettings(fleetDirectory),
                .. settings,
            ]);
    }

    public string[] Operator(string name = "alice") => Credentials($"openconnect://operator/{name}");

    public void Dispose()
    {
        Ca.Dispose();
        Foreign.Dispose();
        Directory.Dispose();
    }
}
