using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Steering.ControlPlane;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Operator calls on the enrollment listener, each taking the operator credential
/// (<c>Authorization: Bearer {token from OperatorTokenFile}</c> or an operator certificate):
/// <list type="bullet">
/// <item><c>POST /fleet/appliances</c> <c>{"id","site"}</c> → a one-time enrollment code (<c>"code"</c> in
/// the body gives the code to use: another replica's, so the appliance may enroll with either);</item>
/// <item><c>GET /fleet/appliances</c> → the enrolled appliances;</item>
/// <item><c>GET /fleet/roster</c> → every registered appliance with health, load, hit ratio, last
/// heartbeat, holdings and version, and each site's totals (<see cref="FleetRoster"/>); read only,
/// so it also answers the origin's fleet certificate (the operator page);</item>
/// <item><c>DELETE /fleet/appliances/{id}</c> → revokes its certificates and drops it from steering at once;
/// idempotent (<c>"alreadyRemoved": true</c> when it was removed before, here or on a replica sharing
/// the fleet directory), and it also removes an appliance this instance has no record of but hears
/// heartbeats from (enrolled on a replica with its own copy of the fleet directory); 404 only when
/// this instance never heard of it;</item>
/// <item><c>POST /fleet/certificates</c> <c>{"identity","csr"}</c> → a certificate for a service
/// (<c>openconnect://fill-controller</c>, <c>openconnect://origin</c>) or an operator (<c>openconnect://operator/{name}</c>).</item>
/// </list>
/// </summary>
public static class OperatorEndpoints
{
    public sealed record AddAppliance(string? Id, string? Site, string? Code = null);

    public sealed record IssueCertificate(string? Identity, string? Csr);

    public static WebApplication MapFleetOperator(this WebApplication app)
    {
        var group = app.MapGroup(FleetEndpoint.OperatorPath).AddEndpointFilter(async (context, next) =>
        {
            // Routes marked ServiceReadable (reads only) also take the origin's fleet certificate:
            // it serves the operator page to admins without holding an operator credential.
            var http = context.HttpContext;
            if (http.GetEndpoint()?.Metadata.GetMetadata<ServiceReadable>() is not null && FleetCaller.Of(http) is { Role: FleetRole.Origin })
            {
                return await next(context);
            }

            var status = http.RequestServices.GetRequiredService<OperatorCredential>().Check(http);
            if (status == StatusCodes.Status401Unauthorized)
            {
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            }

            return status == StatusCodes.Status200OK ? await next(context) : Results.Json(new { error = status == 401 ? "operator credential required" : "operator credential refused" }, statusCode: status);
        });

        group.MapPost("/appliances", (AddAppliance body, FleetState fleet, ILogger<FleetState> logger) =>
        {
            if (!FleetIdentity.IsValidName(body.Id) || !FleetIdentity.IsValidName(body.Site) || body.Id == ControlPlaneService.OriginPathwayId)
            {
                return Error($"id and site must be {FleetIdentity.NameRule} (and the id not '{ControlPlaneService.OriginPathwayId}')");
            }

            if (body.Code is not null && !EnrollmentStore.IsValidCode(body.Code))
            {
                return Error($"code must be {EnrollmentStore.CodeLength} lowercase hex digits (an enrollment code another replica issued), or absent");
            }

            try
            {
                var (code, expires) = fleet.Enrollments.Add(body.Id!, body.Site!, fleet.Options.EnrollmentCodeLifetime, body.Code);
                FleetLog.ApplianceAdded(logger, body.Id!, body.Site!, expires);
                return Results.Json(new { id = body.Id, site = body.Site, identity = FleetIdentity.Appliance(body.Site!, body.Id!).ToString(), code, expires });
            }
            catch (FleetRequestException ex)
            {
                return Results.Json(new { error = ex.Message }, statusCode: StatusCodes.Status409Conflict);
            }
        });

        group.MapGet("/appliances", (FleetState fleet, ApplianceRegistry registry) => Results.Json(fleet.Enrollments.List().Select(r => new
        {
            id = r.Id,
            site = r.Site,
            identity = FleetIdentity.Appliance(r.Site, r.Id).ToString(),
            enrolled = r.Serials.Count > 0,
            pendingCodeExpires = r.CodeExpires,
            certificates = r.Serials,
            registered = registry.Find(r.Id) is not null,
        })));

        group.MapGet("/roster", (ApplianceRegistry registry, ApplianceReports reports, TimeProvider time, IOptions<SteeringOptions> options, HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(FleetRoster.Build(registry.Roster, reports, time.GetUtcNow(), options.Value.HeartbeatExpiry));
        }).WithMetadata(ServiceReadable.Instance);

        group.MapDelete("/appliances/{id}", (string id, FleetState fleet, ApplianceRegistry registry, ApplianceReports reports, ILogger<FleetState> logger) =>
        {
            var removal = FleetIdentity.IsValidName(id) ? fleet.Enrollments.Remove(id, registry.Find(id)?.Site) : Removal.Unknown;
            if (removal == Removal.Unknown)
            {
                return Results.Json(new { error = $"appliance '{id}' is not enrolled" }, statusCode: StatusCodes.Status404NotFound);
            }

            // Dropped at once either way: a removal another replica recorded first leaves it here until now.
            registry.Remove(id);
            reports.Forget(id);
            if (removal == Removal.Removed)
            {
                FleetLog.ApplianceRemoved(logger, id);
            }

            return Results.Json(new { removed = id, alreadyRemoved = removal == Removal.AlreadyRemoved });
        });

        group.MapPost("/certificates", (IssueCertificate body, FleetState fleet, ILogger<FleetState> logger) =>
        {
            if (!FleetIdentity.TryParse(body.Identity, out var identity) || identity.Role is FleetRole.Appliance or FleetRole.Steering)
            {
                return Error("identity must be openconnect://fill-controller, openconnect://origin or openconnect://operator/{name} (appliances enroll with a code)");
            }

            try
            {
                using var certificate = fleet.Authority.IssueFromRequest(body.Csr ?? "", identity, fleet.Options.CertificateLifetime);
                FleetLog.ServiceCertificateIssued(logger, identity.ToString(), certificate.SerialNumber, certificate.NotAfter.ToUniversalTime());
                return Results.Json(new { identity = identity.ToString(), certificate = certificate.ExportCertificatePem(), authority = fleet.Authority.CertificatePem, serial = certificate.SerialNumber, notAfter = certificate.NotAfter.ToUniversalTime() });
            }
            catch (FleetRequestException ex)
            {
                return Error(ex.Message);
            }
        });

        return app;
    }

    private static IResult Error(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);
}

/// <summary>Marks an operator route that only reads, which the origin's fleet certificate may call too.</summary>
public sealed class ServiceReadable
{
    public static readonly ServiceReadable Instance = new();

    private ServiceReadable()
    {
    }
}
