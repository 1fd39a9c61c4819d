using OpenConnect.Contracts.Fleet;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Play;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Keeps the three kinds of listener apart and checks callers: the control port serves only the
/// control plane, the roster, certificate renewal and the play history, each call with a fleet
/// certificate checked again (revocation, expiry), the history only to <c>openconnect://fill-controller</c>
/// or an operator certificate; the enrollment port serves only enrollment and the operator calls;
/// player ports serve none of them.
/// </summary>
public sealed class FleetGate(RequestDelegate next, ControlEndpoint control, FleetEndpoint enrollment, FleetState fleet)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var port = context.Connection.LocalPort;
        var path = context.Request.Path;
        var onControl = port == control.Port;
        var onEnrollment = !onControl && port == enrollment.Port;
        var controlCall = path.StartsWithSegments(ControlEndpoint.ServicePath, StringComparison.Ordinal)
            || path.StartsWithSegments(ControlEndpoint.RosterPath, StringComparison.Ordinal)
            || path.Equals(FleetEndpoint.RenewPath, StringComparison.Ordinal)
            || path.StartsWithSegments(PlayHistory.Route, StringComparison.Ordinal);
        var enrollmentCall = path.Equals(FleetEndpoint.EnrollPath, StringComparison.Ordinal)
            || path.StartsWithSegments(FleetEndpoint.OperatorPath, StringComparison.Ordinal);
        var allowed = onControl ? controlCall : onEnrollment ? enrollmentCall : !controlCall && !enrollmentCall && !path.StartsWithSegments(FleetEndpoint.ServicePath, StringComparison.Ordinal);
        if (!allowed)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if ((onControl || onEnrollment) && !await FleetCaller.VerifyAsync(context, fleet, required: onControl).ConfigureAwait(false))
        {
            return;
        }

        if (onControl && path.StartsWithSegments(PlayHistory.Route, StringComparison.Ordinal)
            && FleetCaller.Of(context) is not { Role: FleetRole.FillController or FleetRole.Operator })
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsJsonAsync(new { error = $"the play history is for the {FleetIdentity.FillController} or an operator certificate, not {FleetCaller.Of(context)}" }).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }
}
