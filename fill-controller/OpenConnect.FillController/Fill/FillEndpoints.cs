using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Hosting;
using OpenConnect.FillController.Fleet;
using OpenConnect.FillController.History;
using OpenConnect.FillController.State;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// Operator HTTP endpoints: <c>GET /fill/sites</c> (every known site's fill progress against its
/// night window, <see cref="SiteProgress"/>), <c>GET /fill/sites/{site}</c> (site status: titles live or filling) and
/// <c>POST /fill/sites/{site}/open</c> (collect play history and titles, then open the site's fill
/// now, for the length of its configured window, for the day of its next window; 409 on a standby,
/// <see cref="PlannerLease"/>). They answer on
/// the control listener only (404 on the data listener), to an operator's fleet certificate
/// (<c>openconnect://operator/{name}</c>), the GETs also to the origin's (<c>openconnect://origin</c>,
/// for the operator page): none → 401, another identity → 403 (<see cref="FillGate"/>).
/// </summary>
public static class FillEndpoints
{
    public static void MapFill(this WebApplication app)
    {
        var operators = app.MapGroup(FillGate.OperatorPath).AddEndpointFilter(async (context, next) =>
        {
            // The origin reads (GET only) for the operator page it serves to admins.
            var caller = FillCaller.Of(context.HttpContext);
            if (caller is not { Role: FleetRole.Operator } && !(caller is { Role: FleetRole.Origin } && HttpMethods.IsGet(context.HttpContext.Request.Method)))
            {
                var who = caller?.ToString() ?? "an anonymous caller";
                return Results.Json(new { error = $"/fill/sites is for operator certificates (openconnect://operator/{{name}}), and reading it for the origin's; the caller is {who}" }, statusCode: StatusCodes.Status403Forbidden);
            }

            return await next(context);
        });

        operators.MapGet("/sites", async (FillCoordinator coordinator, TimeProvider time, CancellationToken cancellationToken) =>
        {
            // Sites with a configured window, and those steering's roster names (when it answers).
            var sites = new SortedSet<string>(coordinator.ConfiguredSites, StringComparer.Ordinal);
            string? rosterError = null;
            try
            {
                foreach (var entry in await coordinator.RosterAsync(cancellationToken))
                {
                    sites.Add(entry.Site);
                }
            }
            catch (InvalidOperationException e)
            {
                rosterError = e.Message;
            }

            var now = time.GetUtcNow();
            return Results.Json(new FillSites(now, rosterError, [.. sites.Select(site => SiteProgress.Of(coordinator.Status(site), coordinator.WindowOf(site).Next(now), coordinator.WindowState(site), now))]));
        });

        operators.MapGet("/sites/{site}", (string site, FillCoordinator coordinator) =>
        {
            if (!Identifiers.IsValid(site))
            {
                return Results.Problem($"'{site}' is not a site name", statusCode: StatusCodes.Status400BadRequest);
            }

            var status = coordinator.Status(site);
            return Results.Json(new
            {
                site = status.Site,
                day = status.Day?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                openUntil = status.OpenUntil,
                titles = status.Titles.Select(t => new { title = t.Title, state = t.State, copiesPlanned = t.CopiesPlanned, copiesComplete = t.CopiesComplete, copiesFailed = t.CopiesFailed, copiesHeld = t.CopiesHeld, appliances = t.Appliances }),
            });
        });

        operators.MapPost("/sites/{site}/open", async (string site, FillCoordinator coordinator, PopularityCollector collector, PlannerLease planner, TimeProvider time, CancellationToken cancellationToken) =>
        {
            if (!Identifiers.IsValid(site))
            {
                return Results.Problem($"'{site}' is not a site name", statusCode: StatusCodes.Status400BadRequest);
            }

            if (!planner.TryHold())
            {
                return Results.Problem("this fill controller is a standby: another one on the same database (FillController:Database) plans; open the site there", statusCode: StatusCodes.Status409Conflict);
            }

            // Plan on the freshest history and title list: collect once now. If steering or the
            // origin cannot be read, plan on what was collected before and say so.
            string? collectError = null;
            try
            {
                await collector.CollectAsync(cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidDataException or InvalidOperationException or System.Text.Json.JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                collectError = e.Message;
            }

            var roster = await coordinator.RosterAsync(cancellationToken);
            if (!roster.Any(a => a.Site == site))
            {
                return Results.Problem($"steering knows no appliance in site '{site}'", statusCode: StatusCodes.Status404NotFound);
            }

            var now = time.GetUtcNow();
            var window = coordinator.WindowOf(site).Next(now);
            var result = await coordinator.OpenSiteAsync(site, window.Day, now + window.Length, scheduled: false, cancellationToken);
            return Results.Json(new
            {
                site = result.Site,
                day = result.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                openUntil = result.OpenUntil,
                filesPlaced = result.FilesPlaced,
                manifests = result.Manifests,
                collected = collectError is null,
                collectError,
            });
        });
    }
}

/// <summary>The fill controller's gRPC listener (<see cref="FillOptions.ControlUrl"/>) and its bound address once started (port 0 becomes the picked port).</summary>
public sealed class FillControlEndpoint
{
    private readonly RoleListeners _listeners;

    public FillControlEndpoint(RoleListeners listeners) => _listeners = listeners;

    public Uri Address => _listeners.ControlAddress;
}
