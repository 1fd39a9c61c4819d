using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Checks the client certificate on every request to a fleet listener, not only at the TLS
/// handshake, so a certificate revoked or expired while its connection stays open is refused on the
/// next call. The identity it names is then available to the services through <see cref="Of"/>.
/// </summary>
public static class FleetCaller
{
    private static readonly object Key = new();

    /// <summary>The verified fleet identity of the caller, or null when it presented no (valid) certificate.</summary>
    public static FleetIdentity? Of(HttpContext context) => context.Items.TryGetValue(Key, out var identity) ? identity as FleetIdentity : null;

    /// <summary>
    /// Verifies the caller's certificate when it has one. On the control port (where the handshake
    /// already demanded one) a refused certificate ends the request with 403; elsewhere a request
    /// with a refused certificate is treated as anonymous only if it has none at all.
    /// </summary>
    public static async Task<bool> VerifyAsync(HttpContext context, FleetState fleet, bool required)
    {
        var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted).ConfigureAwait(false);
        if (certificate is null && !required)
        {
            return true;
        }

        var verdict = fleet.Trust.CheckClient(certificate);
        if (verdict.Identity is null)
        {
            DropRevokedAppliance(context, fleet, certificate);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers["grpc-status"] = "7";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(verdict.Problem ?? "refused");
            return false;
        }

        context.Items[Key] = verdict.Identity;
        return true;
    }

    /// <summary>
    /// A revoked appliance still calling (its removal was made on a replica sharing the fleet
    /// directory, so this instance learns of it only now) leaves the registry at once rather than
    /// when its heartbeats expire.
    /// </summary>
    private static void DropRevokedAppliance(HttpContext context, FleetState fleet, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        if (certificate is not null && FleetIdentity.FromCertificate(certificate) is { Role: FleetRole.Appliance } identity
            && fleet.Enrollments.IsRevoked(identity, certificate.NotBefore.ToUniversalTime())
            && context.RequestServices.GetService<ControlPlane.ApplianceRegistry>() is { } registry
            && registry.Find(identity.Name) is { } known && known.Site == identity.Site)
        {
            registry.Remove(identity.Name);
            context.RequestServices.GetService<ApplianceReports>()?.Forget(identity.Name);
        }
    }
}
