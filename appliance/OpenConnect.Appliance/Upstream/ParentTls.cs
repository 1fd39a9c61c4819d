using System.Net.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenConnect.Appliance.Identity;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// Fleet TLS on the parent path, both ways. Pulling (<see cref="ParentFetcher"/>, fill's
/// <see cref="Fill.SourceFetcher"/>): an <c>https://</c> parent gets the appliance's current fleet
/// certificate, chosen per handshake so a renewed one is used from the next connection on, and must
/// itself present a fleet certificate naming the origin or an appliance (any site: what a parent sends
/// is checked against the signed integrity manifest anyway; the certificate says it is a fleet member,
/// and a fill source may be in another site). Serving (<c>Appliance:Upstream:ParentListenerUrl</c>):
/// the same certificate, and only appliances' fleet certificates are admitted.
/// </summary>
public sealed class ParentTls(FleetEnrollment fleet, ILogger<ParentTls> logger)
{
    /// <summary>Whether a parent presenting <paramref name="identity"/> is pulled from: the origin or any appliance.</summary>
    public static bool IsParent(FleetIdentity identity) => identity.Role is FleetRole.Origin or FleetRole.Appliance;

    /// <summary>Whether a client presenting <paramref name="identity"/> may pull from this appliance's parent listener: appliances only.</summary>
    public static bool MayPull(FleetIdentity identity) => identity.Role == FleetRole.Appliance;

    /// <summary>TLS options for an HTTP handler that pulls from <c>https://</c> parents or fill sources.</summary>
    public SslClientAuthenticationOptions ClientOptions() =>
        FleetTlsCredentials.ClientOptions(() => fleet.Credentials?.Tls, IsParent, Refused);

    /// <summary>TLS on the parent listener: this appliance's current certificate, fleet client certificates of appliances required.</summary>
    public void UseOnListener(ListenOptions listen) => FleetParentTls.Use(listen, () => fleet.Credentials?.Tls, MayPull);

    private void Refused(string parent, FleetVerdict? verdict) =>
        UpstreamLog.ParentCertificateRefused(
            logger,
            parent,
            verdict is null
                ? "this appliance has no fleet credentials (Appliance:Fleet:CaCertificateFile)"
                : verdict.Problem ?? $"its certificate names {verdict.Identity}, not the origin or an appliance");
}
