using System.Diagnostics;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Puts the parent listener's requests (peers' pulls over fleet TLS,
/// <c>Appliance:Upstream:ParentListenerUrl</c>) in the same access log as the players' requests, one
/// line each, with the caller's fleet identity (JSON <c>caller</c>; <c>combined</c>'s remote user).
/// Content requests there are logged by <see cref="SegmentConnection"/> like any other; this middleware
/// logs the rest, the requests of a connection handed to ASP.NET Core (another path, answered 404 by the
/// kit's listener routing), so every request on that listener is logged. A path outside <c>/v/…</c> is
/// logged as <c>-</c>. Nothing is added when the access log is off.
/// </summary>
public static class ParentAccessLog
{
    /// <summary>Registers the middleware; call before the kit's listener routing, so its 404s are logged too.</summary>
    public static WebApplication UseParentAccessLog(this WebApplication app)
    {
        var log = app.Services.GetRequiredService<AccessLog>();
        if (!log.Enabled)
        {
            return app;
        }

        app.Use(async (context, next) =>
        {
            if (context.Features.Get<ListenerKindFeature>()?.Kind != ListenerKind.Parent)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var began = Stopwatch.GetTimestamp();
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                log.Write(Entry(context, Stopwatch.GetElapsedTime(began)));
            }
        });
        return app;
    }

    private static AccessEntry Entry(HttpContext context, TimeSpan duration)
    {
        var request = context.Request;
        var response = context.Response;
        var method = HttpMethods.IsGet(request.Method) ? "GET" : HttpMethods.IsHead(request.Method) ? "HEAD" : HttpMethods.IsOptions(request.Method) ? "OPTIONS" : "OTHER";
        // Only content paths are logged: anything else (a player's /s/{token}/… sent here) might carry a secret.
        var target = request.Path.StartsWithSegments("/v", StringComparison.Ordinal) ? request.Path.Value! : "-";
        var bytes = method == "GET" && response.StatusCode is 200 or 206 ? response.ContentLength ?? 0 : 0;
        var caller = context.Connection.ClientCertificate is { } certificate ? FleetIdentity.FromCertificate(certificate)?.ToString() : null;
        return new AccessEntry(DateTimeOffset.UtcNow, context.Connection.RemoteIpAddress, method, target, response.StatusCode, bytes, "-", duration, caller);
    }
}
