namespace OpenConnect.Appliance.Control;

/// <summary>
/// <c>POST /control/drain</c> starts draining, <c>DELETE /control/drain</c> ends it, <c>GET</c> reads it.
/// Only on the control endpoint: it is the one listener speaking HTTP/2 (data listeners are HTTP/1.1
/// only), so a player on a data port gets 404.
/// </summary>
public static class DrainEndpoint
{
    public const string Path = "/control/drain";

    public static void MapDrain(this WebApplication app)
    {
        var group = app.MapGroup(Path).AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.Protocol == "HTTP/2"
                ? await next(context)
                : Results.Json(new { error = "the drain switch is on the control endpoint (Appliance:ControlUrl)" }, statusCode: StatusCodes.Status404NotFound));
        group.MapPost("", (ControlState state) => Set(state, draining: true));
        group.MapDelete("", (ControlState state) => Set(state, draining: false));
        group.MapGet("", (ControlState state) => Results.Json(new { draining = state.Draining }));
    }

    private static IResult Set(ControlState state, bool draining)
    {
        state.Draining = draining;
        return Results.Json(new { draining });
    }
}
