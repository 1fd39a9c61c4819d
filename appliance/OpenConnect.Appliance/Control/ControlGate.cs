using OpenConnect.Appliance.Identity;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// Authorizes every request on the control listener by the caller's fleet identity: the drain switch,
/// purge and Prefetch are for operators (<c>openconnect://operator/{name}</c>) only. The client certificate
/// is checked again on each request, not only at the handshake, so one that expires while its
/// connection stays open is refused on the next call. Anything else gets 403 with a JSON
/// <c>{error}</c> naming the identity, or gRPC PermissionDenied; refusals are logged. The fill
/// controller does not call Prefetch (its appliances pull their fill), so it gets no exception.
/// </summary>
public sealed class ControlGate(RequestDelegate next, FleetEnrollment enrollment, ILogger<ControlGate> logger)
{
    private static readonly object CallerKey = new();

    /// <summary>The operator the gate admitted for this request, or null when the request did not come through the gate.</summary>
    public static FleetIdentity? Operator(HttpContext context) => context.Items.TryGetValue(CallerKey, out var caller) ? caller as FleetIdentity : null;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<ListenerKindFeature>()?.Kind != ListenerKind.Control)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted).ConfigureAwait(false);
        var verdict = enrollment.Credentials is { } credentials
            ? credentials.Trust.CheckClient(certificate)
            : FleetVerdict.Refused("the appliance has no fleet identity");
        var problem = verdict.Identity switch
        {
            null => verdict.Problem ?? "refused",
            { Role: FleetRole.Operator } => null,
            var identity => $"{identity} may not use the appliance's control endpoint: drain, purge and prefetch take an operator certificate (openconnect://operator/{{name}})",
        };
        if (problem is not null)
        {
            ControlLog.Refused(logger, context.Request.Method, context.Request.Path.Value ?? "", context.Connection.RemoteIpAddress?.ToString() ?? "?", problem);
            await RefuseAsync(context, problem).ConfigureAwait(false);
            return;
        }

        context.Items[CallerKey] = verdict.Identity;
        await next(context).ConfigureAwait(false);
    }

    private static Task RefuseAsync(HttpContext context, string problem)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            // A gRPC trailers-only response: the status travels in the headers.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "7";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(problem);
            return Task.CompletedTask;
        }

        return Results.Json(new { error = problem }, statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
    }
}
