using System.Security.Cryptography.X509Certificates;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Steering's own certificate for its control and enrollment listeners: issued by its fleet CA with a
/// fresh key at start (never written to disk), read per handshake from <see cref="Holder"/>. On a
/// reload (SIGHUP) a new one is issued when <c>Steering:Fleet:ServerNames</c> changed or the current
/// one is past two thirds of its lifetime, and new connections get it; open connections keep theirs.
/// The hosts of <c>ControlUrl</c> and <c>Fleet:EnrollUrl</c> stay those of the start: the listeners
/// do not move without a restart.
/// </summary>
public sealed class SteeringCertificate
{
    /// <summary>Long enough that a renewal is rare; a reload in its last third issues the next one.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(365);

    private readonly FleetAuthority _authority;
    private readonly IReadOnlyList<string> _listenerHosts;
    private readonly Func<IReadOnlyList<string>> _serverNames;
    private readonly TimeProvider _time;
    private string[] _hosts = [];

    /// <param name="authority">The fleet CA that issues it.</param>
    /// <param name="listenerHosts">The hosts of the listener URLs at start.</param>
    /// <param name="serverNames">The configured extra names, read again on every reload.</param>
    /// <param name="time">The clock for the renewal.</param>
    public SteeringCertificate(FleetAuthority authority, IReadOnlyList<string> listenerHosts, Func<IReadOnlyList<string>> serverNames, TimeProvider time)
    {
        _authority = authority;
        _listenerHosts = listenerHosts;
        _serverNames = serverNames;
        _time = time;
        Holder = new ServerCertificateHolder($"steering's fleet certificate ({SteeringOptions.SectionName}:Fleet:ServerNames)", Next);
    }

    /// <summary>The certificate holder the listeners read per handshake; registered for the reloader.</summary>
    public ServerCertificateHolder Holder { get; }

    /// <summary>The names steering's certificate carries: the configured extra names and the listeners' hosts, wildcard addresses left out.</summary>
    public static string[] HostNames(IEnumerable<string> serverNames, IEnumerable<string> listenerHosts) =>
        [.. serverNames.Concat(listenerHosts).Where(h => h is not ("0.0.0.0" or "[::]" or "*" or "+")).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Whether a certificate valid from <paramref name="notBefore"/> to <paramref name="notAfter"/> is due for renewal at <paramref name="now"/> (past two thirds of its lifetime).</summary>
    public static bool RenewalDue(DateTime notBefore, DateTime notAfter, DateTimeOffset now) =>
        now.UtcDateTime >= notBefore + ((notAfter - notBefore) * 2 / 3);

    private X509Certificate2 Next()
    {
        var hosts = HostNames(_serverNames(), _listenerHosts);
        if (Holder?.Current is { } current
            && hosts.SequenceEqual(_hosts, StringComparer.OrdinalIgnoreCase)
            && !RenewalDue(current.NotBefore.ToUniversalTime(), current.NotAfter.ToUniversalTime(), _time.GetUtcNow()))
        {
            return current;
        }

        var next = FleetTlsCredentials.Exportable(_authority.CreateServerCertificate(hosts, Lifetime));
        _hosts = hosts;
        return next;
    }
}
