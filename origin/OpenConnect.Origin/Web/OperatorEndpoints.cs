using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Accounts;

namespace OpenConnect.Origin.Web;

/// <summary>
/// <c>GET /api/v1/operator/fleet</c> for the operator page, admins only (401 without a token, 403
/// for other roles): steering's roster and the fill controller's sites, read with the origin's fleet
/// certificate (<see cref="FleetStatusReader"/>), so the browser holds no operator credential.
/// </summary>
internal static class OperatorEndpoints
{
    public const string Path = "/api/v1/operator/fleet";

    public static void Map(WebApplication app)
    {
        app.MapGet(Path, async (HttpContext context, FleetStatusReader reader) =>
        {
            var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            if (denied is not null)
            {
                return denied;
            }

            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(await reader.ReadAsync(context.RequestAborted));
        }).RequireRateLimiting(CatalogRegistration.RateLimitPolicy).WithTags("operator");
    }
}
