using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Steering's side of the fleet PKI, loaded once at start: the CA, the enrollment records, the
/// trust check every control call goes through (chained to the CA, in its validity period, not
/// revoked) and steering's own certificate for its control and enrollment listeners (a fresh key
/// each start, never written to disk).
/// </summary>
public sealed class FleetState : IDisposable
{
    public FleetState(IOptions<SteeringOptions> options, TimeProvider time)
    {
        var steering = options.Value;
        Options = steering.Fleet;
        Directory = steering.ResolvedFleetDirectory;
        System.IO.Directory.CreateDirectory(Directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Authority = FleetAuthority.LoadOrCreate(Directory, time);
        Enrollments = new EnrollmentStore(Directory, time);
        Trust = new FleetTrust(Authority.Certificate, IsRevoked, time);
        var hosts = new List<string>(steering.Fleet.ServerNames);
        foreach (var url in new[] { steering.ControlUrl, steering.Fleet.EnrollUrl })
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
            {
                hosts.Add(uri.Host);
            }
        }

        // Steering renews its own certificate by restarting; a lifetime of a year keeps that rare.
        ServerCertificate = Authority.CreateServerCertificate(hosts.Where(h => h is not ("0.0.0.0" or "[::]" or "*" or "+")), TimeSpan.FromDays(365));
    }

    public FleetOptions Options { get; }

    public string Directory { get; }

    public FleetAuthority Authority { get; }

    public EnrollmentStore Enrollments { get; }

    public FleetTrust Trust { get; }

    public X509Certificate2 ServerCertificate { get; }

    public void Dispose()
    {
        ServerCertificate.Dispose();
        Authority.Dispose();
    }

    private bool IsRevoked(X509Certificate2 certificate) =>
        FleetIdentity.FromCertificate(certificate) is { } identity && Enrollments.IsRevoked(identity, certificate.NotBefore.ToUniversalTime());
}
