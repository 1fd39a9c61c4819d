using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// The enrollment listener (<see cref="FleetOptions.EnrollUrl"/>): HTTPS with steering's fleet
/// certificate, client certificate optional; appliances enroll here and operators call
/// <c>/fleet/…</c>. Its bound address once the server has started (port 0 becomes the real port).
/// </summary>
public sealed class FleetEndpoint
{
    /// <summary>The gRPC enrollment service: <c>Enroll</c> on this listener, <c>Renew</c> on the control listener.</summary>
    public const string ServicePath = "/openconnect.fleet.v1.Enrollment";

    public const string EnrollPath = ServicePath + "/Enroll";

    public const string RenewPath = ServicePath + "/Renew";

    /// <summary>Operator calls (HTTP + JSON).</summary>
    public const string OperatorPath = "/fleet";

    internal ListenOptions? Listen { get; set; }

    public int Port => Listen?.IPEndPoint?.Port ?? 0;

    /// <summary>The bound enrollment address, e.g. <c>https://127.0.0.1:8281</c>.</summary>
    public Uri Address => FleetListenOptions.Https(ListenUrls.BoundAddress(Listen, "enrollment endpoint"));
}

public static class FleetListenOptions
{
    /// <summary>A bound address with the scheme its listener really speaks (fleet listeners are TLS only).</summary>
    public static Uri Https(Uri bound) => new UriBuilder(bound) { Scheme = Uri.UriSchemeHttps, Port = bound.Port }.Uri;

    /// <summary>
    /// TLS with steering's fleet certificate on a listener. With <paramref name="requireClientCertificate"/>
    /// (the control listener) the handshake fails without a client certificate chained to the fleet
    /// CA, valid and not revoked; otherwise (the enrollment listener) one is optional but checked the
    /// same way when given. Every request is checked again by <see cref="FleetGate"/>.
    /// </summary>
    public static ListenOptions UseFleetTls(this ListenOptions listen, bool requireClientCertificate)
    {
        var fleet = listen.ApplicationServices.GetRequiredService<FleetState>();
        if (!requireClientCertificate)
        {
            listen.ApplicationServices.GetRequiredService<FleetEndpoint>().Listen = listen;
        }

        return listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            // Per handshake: a reload may have issued a new one (new names, renewal).
            ServerCertificateSelector = (_, _) => fleet.ServerCertificate,
            ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate,
            ClientCertificateValidation = (certificate, _, _) => fleet.Trust.CheckClient(certificate).Identity is not null,
            CheckCertificateRevocation = false,
            SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
        });
    }
}
