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
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers["grpc-status"] = "7";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(verdict.Problem ?? "refused");
            return false;
        }

        context.Items[Key] = verdict.Identity;
        return true;
    }
}
