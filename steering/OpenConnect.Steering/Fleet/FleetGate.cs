using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Play;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Keeps the three kinds of listener apart and checks callers: the control port serves only the
/// control plane, the roster and certificate renewal, each call with a fleet certificate checked
/// again (revocation, expiry); the enrollment port serves only enrollment and the operator calls;
/// player ports serve neither, and their <c>/history/plays</c> takes the operator credential.
/// </summary>
public sealed class FleetGate(RequestDelegate next, ControlEndpoint control, FleetEndpoint enrollment, FleetState fleet, OperatorCredential operators)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var port = context.Connection.LocalPort;
        var path = context.Request.Path;
        var onControl = port == control.Port;
        var onEnrollment = !onControl && port == enrollment.Port;
        var controlCall = path.StartsWithSegments(ControlEndpoint.ServicePath, StringComparison.Ordinal)
            || path.StartsWithSegments(ControlEndpoint.RosterPath, StringComparison.Ordinal)
            || path.Equals(FleetEndpoint.RenewPath, StringComparison.Ordinal);
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

        if (!onControl && !onEnrollment && path.StartsWithSegments(PlayHistory.Route, StringComparison.Ordinal))
        {
            var status = operators.Check(context);
            if (status != StatusCodes.Status200OK)
            {
                context.Response.StatusCode = status;
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }
}
