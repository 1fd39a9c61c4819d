using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// The origin's fleet certificate (<c>openconnect://origin</c>, from <c>Origin:Fleet</c> files, loaded
/// once) and the fleet CA check for the fleet parent listener, which admits appliances and the fill
/// controller and nobody else.
/// </summary>
public sealed class OriginFleetCredentials : IDisposable
{
    private OriginFleetCredentials(X509Certificate2 certificate, X509Certificate2 authority, TimeProvider time)
    {
        Certificate = certificate;
        Authority = authority;
        Trust = new FleetTrust(authority, time: time);
    }

    /// <summary>The origin's certificate, with its key.</summary>
    public X509Certificate2 Certificate { get; }

    public X509Certificate2 Authority { get; }

    public FleetTrust Trust { get; }

    /// <summary>Who may pull from the fleet parent listener: appliances and the fill controller.</summary>
    public static bool MayPull(FleetIdentity identity) => identity.Role is FleetRole.Appliance or FleetRole.FillController;

    /// <summary>Applies the fleet parent listener's TLS; the credentials are read at the first handshake (the start already validated them).</summary>
    public static void UseOnListener(ListenOptions listen)
    {
        var credentials = new Lazy<OriginFleetCredentials>(() => listen.ApplicationServices.GetRequiredService<OriginFleetCredentials>());
        FleetParentTls.Use(listen, () => credentials.Value.Certificate, () => credentials.Value.Trust, MayPull);
    }

    public static OriginFleetCredentials FromOptions(IOptions<OriginOptions> options, TimeProvider time) => Load(options.Value.Fleet, time);

    /// <summary>
    /// Loads and checks the files: the key owner-only, the certificate for that key, issued by the CA
    /// in <c>CaCertificateFile</c> for server use, valid now, naming <c>openconnect://origin</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">What is wrong, naming the file.</exception>
    public static OriginFleetCredentials Load(OriginFleetOptions fleet, TimeProvider time)
    {
        PrivateFile.RequireOwnerOnly(fleet.KeyFile);
        X509Certificate2 authority;
        X509Certificate2 certificate;
        try
        {
            authority = X509Certificate2.CreateFromPem(File.ReadAllText(fleet.CaCertificateFile));
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"Origin:Fleet:CaCertificateFile '{fleet.CaCertificateFile}' is not a PEM certificate: {ex.Message}");
        }

        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(fleet.CertificateFile, fleet.KeyFile);
            // SslStream on Linux needs the key in a form it can hand to OpenSSL: round-trip through PKCS#12.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException ex)
        {
            authority.Dispose();
            throw new InvalidOperationException($"'{fleet.CertificateFile}' with key '{fleet.KeyFile}' does not load as a certificate and its private key: {ex.Message}");
        }

        var verdict = new FleetTrust(authority, time: time).CheckServer(certificate);
        var problem = verdict.Problem
            ?? (verdict.Identity != FleetIdentity.Origin ? $"it names {verdict.Identity}, not {FleetIdentity.Origin} (issue one with POST /fleet/certificates on steering)" : null);
        if (problem is not null)
        {
            certificate.Dispose();
            authority.Dispose();
            throw new InvalidOperationException($"the origin's fleet certificate '{fleet.CertificateFile}' is refused: {problem}");
        }

        return new OriginFleetCredentials(certificate, authority, time);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}
