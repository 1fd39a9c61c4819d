using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Content;
using OpenConnect.Hosting.Tracing;
using OpenConnect.Steering.Selection;
using OpenConnect.Steering.Signing;
using OpenConnect.Steering.Takedown;

namespace OpenConnect.Steering.Play;

/// <summary>
/// The player interface: <c>/play/{title}</c> (ranked signed URLs as JSON, with
/// <c>?start=hls|dash[&amp;bps=N]</c> also the start set a page prefetches: <see cref="PlayStart"/>; or a redirect), the
/// steered HLS multivariant playlist and DASH MPD, the two steering manifests, and <c>/keys</c>.
/// Only <c>/play/{title}</c> counts a play (<see cref="PlayHistory"/>), so only it is rate-limited
/// per client (<see cref="PlayRateLimiter"/>: 429 with <c>Retry-After</c>). A title the origin took
/// down (<see cref="TakedownRegistry"/>) gets 410 with the reason on every one of them at once, before
/// the origin is asked: players holding a steering URI stop at their next poll.
/// </summary>
public static class PlayEndpoints
{
    public const string CorsPolicy = "players";

    private const string JsonType = "application/json; charset=utf-8";

    public static IEndpointRouteBuilder MapPlay(this IEndpointRouteBuilder app)
    {
        var players = app.MapGroup("").RequireCors(CorsPolicy);
        players.MapGet("/keys", (TokenIssuer tokens) => Results.Json(new
        {
            keys = new[] { new { keyId = tokens.Key.KeyId, algorithm = "Ed25519", publicKey = tokens.Key.PublicKey.ToString() } },
        }));
        players.MapGet("/play/{titleId}", PlayAsync);
        players.MapGet("/play/{titleId}/master.m3u8", MultivariantAsync);
        players.MapGet("/play/{titleId}/manifest.mpd", MpdAsync);
        players.MapGet("/steering/hls/{titleId}", (HttpContext context, string titleId, SteeringDecisions decisions, OriginCatalog catalog, TakedownRegistry takedowns, IOptions<SteeringOptions> options, SteeringMetrics metrics, ILoggerFactory logs)
            => SteeringAsync(context, titleId, "hls", decisions, catalog, takedowns, options.Value, metrics, logs));
        players.MapGet("/steering/dash/{titleId}", (HttpContext context, string titleId, SteeringDecisions decisions, OriginCatalog catalog, TakedownRegistry takedowns, IOptions<SteeringOptions> options, SteeringMetrics metrics, ILoggerFactory logs)
            => SteeringAsync(context, titleId, "dash", decisions, catalog, takedowns, options.Value, metrics, logs));
        return app;
    }

    private static async Task<IResult> PlayAsync(HttpContext context, string titleId, SteeringDecisions decisions, OriginCatalog catalog, TakedownRegistry takedowns, IOptions<SteeringOptions> options, PlayHistory history, PlayRateLimiter limiter, PlayDeduplication dedupe)
    {
        var client = context.Connection.RemoteIpAddress;
        if (!limiter.TryAcquire(client, out var retryAfter))
        {
            var seconds = (long)retryAfter.TotalSeconds;
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers.CacheControl = "no-store";
            return Error(StatusCodes.Status429TooManyRequests, $"too many plays from this address; retry after {seconds} s");
        }

        if ((Invalid(titleId) ?? Gone(titleId, takedowns, context.Response)) is { } bad)
        {
            return bad;
        }

        var start = (string?)context.Request.Query["start"];
        if (start is not (null or "hls" or "dash"))
        {
            return Error(StatusCodes.Status400BadRequest, "start must be hls or dash (the engine whose first requests to list)");
        }

        // The multivariant playlist both says the title is published and whether it is protected.
        var master = await catalog.GetTextAsync(titleId, "master.m3u8", context.RequestAborted);
        if (FromOrigin(master, titleId) is { } problem)
        {
            return problem;
        }

        var decision = decisions.Decide(titleId, client);
        RoleTracing.TagRequest("openconnect.site", decision.Site);
        RoleTracing.TagRequest("openconnect.pathway", decision.Pathways[0].Id);
        // An answered play counts in the site the decision was made for (the fill controller's
        // history), once per client prefix and title a day: replaying cannot inflate popularity.
        if (options.Value.CountRepeatPlays || dedupe.Check(client is null ? "unknown" : TokenIssuer.ClientPrefix(client), titleId) == PlayCount.First)
        {
            history.Record(decision.Site, titleId);
        }

        var redirect = RedirectMode(context.Request);
        if (redirect is not null)
        {
            var file = redirect == "hls" ? "master.m3u8" : "manifest.mpd";
            context.Response.Headers.CacheControl = "no-store";
            return Results.Redirect(decision.Pathways[0].TitleBase + file);
        }

        var steering = SteeringBase(context, options.Value);
        var session = NewSession();
        var hlsUrl = $"{steering}/play/{titleId}/master.m3u8?session={session}";
        var dashUrl = $"{steering}/play/{titleId}/manifest.mpd?session={session}";
        var startSet = start is null ? null : await PlayStart.BuildAsync(
            start, titleId, start == "hls" ? hlsUrl : dashUrl, SteeringUri(steering, start, titleId, session, decision.Pathways.Select(p => p.Id)),
            decision, master, catalog, StartSet.ParseHint(context.Request.Query["bps"]), context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(new
        {
            titleId,
            site = decision.Site,
            expires = decision.Expires,
            hls = new
            {
                url = hlsUrl,
                pathways = decision.Pathways.Select(p => Describe(p, "master.m3u8")),
            },
            dash = new
            {
                url = dashUrl,
                pathways = decision.Pathways.Select(p => Describe(p, "manifest.mpd")),
            },
            drm = master.Text is { } text && ClearKeyLicense.IsProtected(text)
                ? new Dictionary<string, object> { [ClearKeyLicense.KeySystem] = new { licenseUrl = ClearKeyLicense.Url(decision) } }
                : null,
            start = startSet is null ? null : new { protocol = start, resources = startSet.Select(r => new { url = r.Url, body = r.Body }) },
        });
    }

    private static async Task<IResult> MultivariantAsync(HttpContext context, string titleId, SteeringDecisions decisions, OriginCatalog catalog, TakedownRegistry takedowns, IOptions<SteeringOptions> options)
    {
        if ((Invalid(titleId) ?? Gone(titleId, takedowns, context.Response)) is { } bad)
        {
            return bad;
        }

        var origin = await catalog.GetTextAsync(titleId, "master.m3u8", context.RequestAborted);
        if (FromOrigin(origin, titleId) is { } problem)
        {
            return problem;
        }

        var playlist = HlsMultivariant.Parse(origin.Text!);
        if (playlist is null)
        {
            return Error(StatusCodes.Status502BadGateway, $"the origin's master.m3u8 for '{titleId}' is not a multivariant playlist");
        }

        var decision = decisions.Decide(titleId, context.Connection.RemoteIpAddress);
        var session = SessionOf(context.Request);
        var steeringUri = SteeringUri(SteeringBase(context, options.Value), "hls", titleId, session, decision.Pathways.Select(p => p.Id));
        context.Response.Headers.CacheControl = "no-store";
        return Results.Text(playlist.Render(decision.Pathways, steeringUri, decision.Pathways[0].Id), "application/vnd.apple.mpegurl");
    }

    private static async Task<IResult> MpdAsync(HttpContext context, string titleId, SteeringDecisions decisions, OriginCatalog catalog, TakedownRegistry takedowns, IOptions<SteeringOptions> options)
    {
        if ((Invalid(titleId) ?? Gone(titleId, takedowns, context.Response)) is { } bad)
        {
            return bad;
        }

        var origin = await catalog.GetTextAsync(titleId, "manifest.mpd", context.RequestAborted);
        if (FromOrigin(origin, titleId) is { } problem)
        {
            return problem;
        }

        var decision = decisions.Decide(titleId, context.Connection.RemoteIpAddress);
        var session = SessionOf(context.Request);
        var steeringUri = SteeringUri(SteeringBase(context, options.Value), "dash", titleId, session, decision.Pathways.Select(p => p.Id));
        var mpd = DashManifest.Render(origin.Text!, decision.Pathways, steeringUri, decision.Pathways[0].Id, ClearKeyLicense.Url(decision));
        if (mpd is null)
        {
            return Error(StatusCodes.Status502BadGateway, $"the origin's manifest.mpd for '{titleId}' is not an MPD");
        }

        context.Response.Headers.CacheControl = "no-store";
        return Results.Text(mpd, "application/dash+xml");
    }

    private static async Task<IResult> SteeringAsync(HttpContext context, string titleId, string protocol, SteeringDecisions decisions, OriginCatalog catalog, TakedownRegistry takedowns, SteeringOptions options, SteeringMetrics metrics, ILoggerFactory logs)
    {
        if ((Invalid(titleId) ?? Gone(titleId, takedowns, context.Response)) is { } bad)
        {
            return bad;
        }

        var request = context.Request;
        var client = context.Connection.RemoteIpAddress;
        var decision = decisions.Decide(titleId, client, sign: false);
        var known = new HashSet<string>(SteeringManifest.ParseList(request.Query["pathways"]), StringComparer.Ordinal);
        if (known.Count == 0)
        {
            known.UnionWith(decision.Pathways.Select(p => p.Id));
        }

        var reported = SteeringManifest.ParseList(request.Query[protocol == "hls" ? "_HLS_pathway" : "_DASH_pathway"]);
        var throughputText = (string?)request.Query[protocol == "hls" ? "_HLS_throughput" : "_DASH_throughput"] ?? "";
        // HLS names the pathway in use; DASH lists every location used, which names it only when there is one.
        var current = reported.Length == 1 ? reported[0] : null;
        var eligible = current is not null && decisions.StaysCurrent(current, decision);
        var (priority, toClone, kept) = SteeringManifest.Order(decision, known, current, eligible);

        var clones = new List<PathwayClone>();
        if (toClone.Count > 0)
        {
            // Clones carry URLs: sign this time (the ranking is the same within one request).
            var signed = decisions.Decide(titleId, client);
            var wanted = toClone.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
            toClone = [.. signed.Pathways.Where(p => wanted.Contains(p.Id))];
            wanted.ExceptWith(toClone.Select(p => p.Id));
            priority.RemoveAll(wanted.Contains);
            if (protocol == "dash" && options.TokenFormat == Signing.PlaybackTokenFormat.Ed25519)
            {
                clones.AddRange(toClone.Select(p => new PathwayClone(p.Id, p.HostUrl, null, null)));
            }
            else if (protocol == "dash")
            {
                // A DASH clone replaces only the host of the origin location, keeping its path and so
                // the MPD's token, and a v2 token names only the appliances of the decision the MPD
                // came from: the new appliance would refuse it. Offer DASH players only what they know.
                priority.RemoveAll(id => toClone.Any(p => p.Id == id));
            }
            else if (await catalog.GetTextAsync(titleId, "master.m3u8", context.RequestAborted) is { Status: OriginStatus.Found, Text: { } text }
                && HlsMultivariant.Parse(text) is { } playlist)
            {
                foreach (var pathway in toClone)
                {
                    var (variants, renditions) = playlist.UrisFor(pathway.TitleBase);
                    clones.Add(new PathwayClone(pathway.Id, new Uri(pathway.HostUrl).Host, variants, renditions));
                }
            }
            else
            {
                priority.RemoveAll(id => toClone.Any(p => p.Id == id));
            }
        }

        double? throughput = double.TryParse(throughputText.Split(',')[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var bps) ? bps : null;
        metrics.SteeringRequest(protocol, kept, throughput);
        SteeringLog.SteeringReport(logs.CreateLogger("OpenConnect.Steering.Play"), protocol, titleId, decision.Site, string.Join(',', reported), throughputText);

        var reload = SteeringUri(SteeringBase(context, options), protocol, titleId, SessionOf(request), known);
        var body = SteeringManifest.Write(options.SteeringTtlSeconds, reload, priority, clones, SteeringDecisions.OriginPathwayId);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Bytes(body, "application/json");
    }

    private static object Describe(Pathway p, string file) => new
    {
        id = p.Id,
        applianceId = p.ApplianceId,
        site = p.Site,
        url = p.TitleBase + file,
    };

    /// <summary>
    /// The redirect mode: <c>?redirect=hls|dash</c>, or an <c>Accept</c> header naming a playlist
    /// type (<c>application/vnd.apple.mpegurl</c>, <c>application/x-mpegurl</c> or
    /// <c>application/dash+xml</c>) and not JSON. Otherwise JSON.
    /// </summary>
    private static string? RedirectMode(HttpRequest request)
    {
        var mode = (string?)request.Query["redirect"];
        if (mode is "hls" or "dash")
        {
            return mode;
        }

        var accept = request.Headers.Accept.ToString();
        if (accept.Contains("json", StringComparison.OrdinalIgnoreCase) || accept.Length == 0)
        {
            return null;
        }

        if (accept.Contains("mpegurl", StringComparison.OrdinalIgnoreCase))
        {
            return "hls";
        }

        return accept.Contains("dash+xml", StringComparison.OrdinalIgnoreCase) ? "dash" : null;
    }

    private static IResult? Invalid(string titleId) => ContentKey.IsValidTitleId(titleId)
        ? null
        : Error(StatusCodes.Status400BadRequest, $"'{titleId}' is not a valid title id (1-{ContentKey.MaxTitleIdLength} characters of [A-Za-z0-9_-])");

    /// <summary>410 for a title taken down at the origin; not cached, so a republished title plays again at once.</summary>
    private static IResult? Gone(string titleId, TakedownRegistry takedowns, HttpResponse response)
    {
        if (!takedowns.IsTakenDown(titleId, out var reason))
        {
            return null;
        }

        response.Headers.CacheControl = "no-store";
        return Error(StatusCodes.Status410Gone, $"title '{titleId}' was taken down at the origin ({reason}); it is no longer available");
    }

    private static IResult? FromOrigin(OriginAnswer answer, string titleId) => answer.Status switch
    {
        OriginStatus.Found => null,
        OriginStatus.NotFound => Error(StatusCodes.Status404NotFound, $"title '{titleId}' is not published"),
        _ => Error(StatusCodes.Status503ServiceUnavailable, "the origin is unavailable; try again"),
    };

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status, contentType: JsonType);

    private static string SteeringBase(HttpContext context, SteeringOptions options) =>
        options.PublicUrl.Length > 0 ? options.PublicUrl.TrimEnd('/') : $"{context.Request.Scheme}://{context.Request.Host}";

    private static string SteeringUri(string steeringBase, string protocol, string titleId, string session, IEnumerable<string> pathways) =>
        $"{steeringBase}/steering/{protocol}/{titleId}?session={session}&pathways={Uri.EscapeDataString(string.Join(',', pathways))}";

    private static string SessionOf(HttpRequest request)
    {
        var given = (string?)request.Query["session"];
        return given is { Length: > 0 and <= 64 } && given.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? given : NewSession();
    }

    private static string NewSession() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));
}
