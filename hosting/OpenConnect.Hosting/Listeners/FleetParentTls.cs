using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Hosting;

/// <summary>
/// TLS for a role's parent listener (<see cref="ListenerKind.Parent"/>): the role's own fleet
/// certificate, chosen per handshake (an appliance's is replaced on renewal), and a client certificate
/// required from the fleet CA naming an identity the role admits. The handshake is the gate; each
/// request is checked again for the certificate's validity window (<see cref="Caller(X509Certificate2?, DateTimeOffset, out string?)"/>), so expiry
/// holds on connections that stay open.
/// </summary>
public static class FleetParentTls
{
    /// <param name="listen">The parent listener.</param>
    /// <param name="serverCertificate">The certificate (with key) to present, read per handshake; null refuses the handshake.</param>
    /// <param name="trust">The fleet CA check, read per handshake; null refuses every client.</param>
    /// <param name="admits">Which fleet identities may pull here.</param>
    public static void Use(ListenOptions listen, Func<X509Certificate2?> serverCertificate, Func<FleetTrust?> trust, Func<FleetIdentity, bool> admits)
    {
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => serverCertificate(),
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (certificate, _, _) => Admits(trust(), certificate, admits),
        });
    }

    /// <summary>The same with a role's <see cref="FleetTlsCredentials"/>: its current certificate and its fleet CA check, read per handshake.</summary>
    /// <param name="listen">The parent listener.</param>
    /// <param name="credentials">The role's credentials, read per handshake; null refuses the handshake.</param>
    /// <param name="admits">Which fleet identities may pull here.</param>
    public static void Use(ListenOptions listen, Func<FleetTlsCredentials?> credentials, Func<FleetIdentity, bool> admits) =>
        Use(listen, () => credentials()?.Current, () => credentials()?.Trust, admits);

    /// <summary>Whether a client certificate chains to the fleet CA (custom root trust, client use, valid now) and names an admitted identity.</summary>
    public static bool Admits(FleetTrust? trust, X509Certificate2? certificate, Func<FleetIdentity, bool> admits) =>
        trust is not null && trust.CheckClient(certificate) is { Identity: { } identity } && admits(identity);

    /// <summary>
    /// The fleet identity of a request on the parent listener, or null with the reason: the TLS
    /// handshake already checked the chain and identity, this catches a certificate that expired
    /// while its connection stayed open.
    /// </summary>
    public static FleetIdentity? Caller(HttpContext context, DateTimeOffset now, out string? problem) =>
        Caller(context.Connection.ClientCertificate, now, out problem);

    /// <summary>
    /// The same for a connection served outside ASP.NET Core (the appliance's segment server): the
    /// client certificate the TLS handshake admitted, from the connection's TLS feature.
    /// </summary>
    public static FleetIdentity? Caller(X509Certificate2? certificate, DateTimeOffset now, out string? problem)
    {
        if (certificate is null)
        {
            problem = "a fleet client certificate is required on the parent listener";
            return null;
        }

        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            problem = $"client certificate {certificate.SerialNumber} is not valid now (valid {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u})";
            return null;
        }

        var identity = FleetIdentity.FromCertificate(certificate);
        problem = identity is null ? $"client certificate {certificate.SerialNumber} names no single openconnect:// identity" : null;
        return identity;
    }
}
