namespace OpenConnect.Appliance.Control;

/// <summary>
/// <c>POST /control/drain</c> starts draining, <c>DELETE /control/drain</c> ends it, <c>GET</c> reads it.
/// Only on the control listener (mutual TLS; the kit answers 404 for these paths on the data and
/// management listeners) and only for operators (<see cref="ControlGate"/>); each switch is logged
/// with the operator who made it.
/// </summary>
public static class DrainEndpoint
{
    public const string Path = "/control/drain";

    public static void MapDrain(this WebApplication app)
    {
        var group = app.MapGroup(Path);
        group.MapPost("", (HttpContext context, ControlState state, ILogger<ControlState> logger) => Set(context, state, logger, draining: true));
        group.MapDelete("", (HttpContext context, ControlState state, ILogger<ControlState> logger) => Set(context, state, logger, draining: false));
        group.MapGet("", (ControlState state) => Results.Json(new { draining = state.Draining }));
    }

    private static IResult Set(HttpContext context, ControlState state, ILogger logger, bool draining)
    {
        state.Draining = draining;
        ControlLog.DrainSet(logger, draining, ControlGate.Operator(context)?.ToString() ?? "?");
        return Results.Json(new { draining });
    }
}
