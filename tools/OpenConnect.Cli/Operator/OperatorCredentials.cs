using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// An operator's fleet certificate (<c>openconnect://operator/{name}</c>, with its key) and the fleet
/// CA that servers must chain to; no system root is ever trusted. Which identities may make which
/// call is the server's decision (a certificate naming another role gets 403 there).
/// </summary>
public sealed class OperatorCredentials : IDisposable
{
    private OperatorCredentials(X509Certificate2? certificate, X509Certificate2 authority, FleetIdentity? identity)
    {
        Certificate = certificate;
        Authority = authority;
        Trust = new FleetTrust(authority);
        Identity = identity;
    }

    /// <summary>The client certificate; null when the call authenticates with a bearer token instead.</summary>
    public X509Certificate2? Certificate { get; }

    public X509Certificate2 Authority { get; }

    public FleetTrust Trust { get; }

    public FleetIdentity? Identity { get; }

    /// <summary>Only the fleet CA, to check the server by: the caller authenticates otherwise (a bearer token).</summary>
    /// <exception cref="CliFailure">The CA file is missing or not a PEM certificate.</exception>
    public static OperatorCredentials AuthorityOnly(string caFile)
    {
        try
        {
            return new OperatorCredentials(null, FleetTlsCredentials.LoadAuthority(caFile, "--ca"), null);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliFailure(ExitCodes.Usage, ex.Message, ex);
        }
    }

    /// <summary>Reads and checks the three files: the key owner-only, the certificate for it, from the CA, valid now, naming one fleet identity.</summary>
    /// <exception cref="CliFailure">What is wrong with which file (<see cref="ExitCodes.Usage"/>).</exception>
    public static OperatorCredentials Load(string certificateFile, string keyFile, string caFile)
    {
        X509Certificate2 authority;
        try
        {
            authority = FleetTlsCredentials.LoadAuthority(caFile, "--ca");
        }
        catch (InvalidOperationException ex)
        {
            throw new CliFailure(ExitCodes.Usage, ex.Message, ex);
        }

        try
        {
            PrivateFile.RequireOwnerOnly(keyFile);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            authority.Dispose();
            throw new CliFailure(ExitCodes.Usage, $"--key {ex.Message}", ex);
        }

        X509Certificate2 certificate;
        try
        {
            certificate = FleetTlsCredentials.Exportable(X509Certificate2.CreateFromPemFile(certificateFile, keyFile));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException)
        {
            authority.Dispose();
            throw new CliFailure(ExitCodes.Usage, $"--cert '{certificateFile}' with --key '{keyFile}' is not a PEM certificate and its private key: {ex.Message}", ex);
        }

        var verdict = new FleetTrust(authority).CheckClient(certificate);
        if (verdict.Identity is null)
        {
            certificate.Dispose();
            authority.Dispose();
            throw new CliFailure(ExitCodes.Usage, $"--cert '{certificateFile}' is not a fleet client certificate from --ca '{caFile}': {verdict.Problem}");
        }

        return new OperatorCredentials(certificate, authority, verdict.Identity!);
    }

    /// <summary>TLS client options: this certificate, and a server whose fleet certificate names an identity <paramref name="accepts"/> takes.</summary>
    /// <param name="accepts">Which server identities are accepted.</param>
    /// <param name="refused">Told why a server was refused.</param>
    public SslClientAuthenticationOptions ClientOptions(Func<FleetIdentity, bool> accepts, Action<string> refused) => new()
    {
        ClientCertificateContext = Certificate is null ? null : SslStreamCertificateContext.Create(Certificate, additionalCertificates: null, offline: true),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, server, _, _) =>
        {
            using var copy = server is null ? null : X509CertificateLoader.LoadCertificate(server.GetRawCertData());
            var verdict = Trust.CheckServer(copy);
            if (verdict.Identity is { } identity && accepts(identity))
            {
                return true;
            }

            refused(verdict.Identity is { } other ? $"the server is {other}, not the expected identity" : $"the server's certificate is not from the fleet CA: {verdict.Problem}");
            return false;
        },
    };

    public void Dispose()
    {
        Certificate?.Dispose();
        Authority.Dispose();
    }
}
