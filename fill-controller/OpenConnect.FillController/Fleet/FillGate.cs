using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.Fleet;

/// <summary>
/// Checks every request on the control listener (fill orders for appliances, <c>/fill/sites/…</c>
/// for operators): the client certificate must chain to the fleet CA and be valid now, checked on
/// each request and not only at the handshake, so a certificate that expires on an open connection
/// is refused on its next call. None → 401, refused → 403 (gRPC: <c>Unauthenticated</c> /
/// <c>PermissionDenied</c>; HTTP: a JSON error). Which identity may call what is decided by the
/// endpoints (<see cref="FillCaller.Of"/>). Requests on other listeners pass untouched.
/// </summary>
public sealed class FillGate(RequestDelegate next, FleetCredentials credentials)
{
    /// <summary>Operator endpoints, served on the control listener only.</summary>
    public const string OperatorPath = "/fill";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<ListenerKindFeature>()?.Kind != ListenerKind.Control)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted).ConfigureAwait(false);
        if (certificate is null)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "a fleet client certificate is required on the fill controller's control listener").ConfigureAwait(false);
            return;
        }

        var verdict = credentials.Trust.CheckClient(certificate);
        if (verdict.Identity is null)
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, verdict.Problem ?? "refused").ConfigureAwait(false);
            return;
        }

        FillCaller.Set(context, verdict.Identity);
        await next(context).ConfigureAwait(false);
    }

    /// <summary>A 401 or 403 in the caller's protocol: gRPC status headers for gRPC, a JSON error otherwise.</summary>
    public static Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            context.Response.Headers["grpc-status"] = status == StatusCodes.Status401Unauthorized ? "16" : "7";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
            return Task.CompletedTask;
        }

        return context.Response.WriteAsJsonAsync(new { error = message });
    }
}

/// <summary>The fleet identity <see cref="FillGate"/> verified for the current request.</summary>
public static class FillCaller
{
    private static readonly object Key = new();

    /// <summary>The caller's verified identity, or null off the control listener.</summary>
    public static FleetIdentity? Of(HttpContext context) => context.Items.TryGetValue(Key, out var identity) ? identity as FleetIdentity : null;

    internal static void Set(HttpContext context, FleetIdentity identity) => context.Items[Key] = identity;
}

public static class FillControlTls
{
    /// <summary>
    /// TLS on the control listener: the fill controller's current fleet certificate (taken anew for
    /// every handshake, so a renewal needs no restart); a client certificate is asked for and, when
    /// given, must chain to the fleet CA. A connection without one is let through to be answered 401
    /// per request by <see cref="FillGate"/> (an operator gets a readable error rather than a TLS alert).
    /// </summary>
    public static ListenOptions UseFillControlTls(this ListenOptions listen)
    {
        var credentials = listen.ApplicationServices.GetRequiredService<FleetCredentials>();
        return listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => credentials.Current,
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,
            ClientCertificateValidation = (certificate, _, _) => credentials.Trust.CheckClient(certificate).Identity is not null,
            CheckCertificateRevocation = false,
            SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
        });
    }
}
