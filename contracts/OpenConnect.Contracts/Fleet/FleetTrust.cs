using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace OpenConnect.Contracts.Fleet;

/// <summary>
/// Checks a peer's certificate against the fleet CA: chained to it alone (<see cref="X509ChainTrustMode.CustomRootTrust"/>,
/// the system store is never consulted), valid at the given time, not revoked, usable for the
/// expected purpose, and naming exactly one fleet identity. Revocation is a set of serial numbers
/// the control-plane host keeps, checked on every call, not a CRL.
/// </summary>
public sealed class FleetTrust(X509Certificate2 authority, Func<X509Certificate2, bool>? isRevoked = null, TimeProvider? time = null)
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public X509Certificate2 Authority { get; } = authority;

    /// <summary>Checks a client's certificate; the identity it names, or why it is refused.</summary>
    public FleetVerdict CheckClient(X509Certificate2? certificate) => Check(certificate, ClientAuthOid);

    /// <summary>Checks a server's certificate; the identity it names, or why it is refused.</summary>
    public FleetVerdict CheckServer(X509Certificate2? certificate) => Check(certificate, ServerAuthOid);

    /// <summary>
    /// A <see cref="RemoteCertificateValidationCallback"/> for clients: the server must hold a fleet
    /// certificate naming <paramref name="expected"/>. The platform's own verdict (system roots,
    /// host name) is ignored: the fleet CA and the identity are what count.
    /// </summary>
    public RemoteCertificateValidationCallback ServerValidator(FleetIdentity expected) =>
        (_, certificate, _, _) => certificate is X509Certificate2 server && CheckServer(server) is { Identity: { } identity } && identity == expected;

    private FleetVerdict Check(X509Certificate2? certificate, string usage)
    {
        if (certificate is null)
        {
            return FleetVerdict.Refused("no certificate");
        }

        var now = _time.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            return FleetVerdict.Refused($"certificate {certificate.SerialNumber} is not valid now (valid {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u})");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(usage));
        if (!chain.Build(certificate))
        {
            var reasons = string.Join(", ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
            return FleetVerdict.Refused($"certificate {certificate.SerialNumber} does not chain to the fleet CA: {reasons}");
        }

        if (chain.ChainElements.Count != 2 || !chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span))
        {
            return FleetVerdict.Refused($"certificate {certificate.SerialNumber} is not issued by the fleet CA itself");
        }

        if (isRevoked?.Invoke(certificate) == true)
        {
            return FleetVerdict.Refused($"certificate {certificate.SerialNumber} is revoked");
        }

        var identity = FleetIdentity.FromCertificate(certificate);
        return identity is null
            ? FleetVerdict.Refused($"certificate {certificate.SerialNumber} names no single openconnect:// identity")
            : new FleetVerdict(identity, null);
    }
}

/// <summary>The outcome of a fleet certificate check: the identity, or why it was refused.</summary>
public sealed record FleetVerdict(FleetIdentity? Identity, string? Problem)
{
    public static FleetVerdict Refused(string problem) => new(null, problem);
}
