using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Steering's side of the fleet PKI, loaded once at start: the CA, the enrollment records, the
/// trust check every control call goes through (chained to the CA, in its validity period, not
/// revoked) and steering's own certificate for its control and enrollment listeners (a fresh key
/// each start, never written to disk; see <see cref="SteeringCertificate"/> for what a reload renews).
/// </summary>
public sealed class FleetState : IDisposable
{
    public FleetState(IOptions<SteeringOptions> options, IOptionsMonitor<SteeringOptions> current, TimeProvider time)
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
        var listenerHosts = new List<string>();
        foreach (var url in new[] { steering.ControlUrl, steering.Fleet.EnrollUrl })
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
            {
                listenerHosts.Add(uri.Host);
            }
        }

        // Issued now, again on a reload when the names changed or it is due for renewal.
        Certificate = new SteeringCertificate(Authority, listenerHosts, () => current.CurrentValue.Fleet.ServerNames, time);
    }

    public FleetOptions Options { get; }

    public string Directory { get; }

    public FleetAuthority Authority { get; }

    public EnrollmentStore Enrollments { get; }

    public FleetTrust Trust { get; }

    /// <summary>Steering's own certificate for its control and enrollment listeners, replaced on a reload.</summary>
    public SteeringCertificate Certificate { get; }

    /// <summary>The certificate new handshakes on the control and enrollment listeners present.</summary>
    public X509Certificate2 ServerCertificate => Certificate.Holder.Current;

    public void Dispose()
    {
        // Earlier certificates are left to the finalizer: open connections may still hold them.
        ServerCertificate.Dispose();
        Authority.Dispose();
    }

    private bool IsRevoked(X509Certificate2 certificate) =>
        FleetIdentity.FromCertificate(certificate) is { } identity && Enrollments.IsRevoked(identity, certificate.NotBefore.ToUniversalTime());
}
