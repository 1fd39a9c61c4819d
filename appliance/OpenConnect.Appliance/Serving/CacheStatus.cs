using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The <c>Cache-Status</c> response header (RFC 9211) of every response that reached the cache, one
/// preencoded line per outcome. The cache is named <c>OpenConnect</c>; the RFC's parameters say hit or
/// forward (<c>fwd=uri-miss</c>: nothing was held for the URI), the parent's status (<c>fwd-status</c>),
/// <c>stored</c> (the fetched body is admitted to the cache when complete and verified) and
/// <c>collapsed</c> (joined another request's fetch). The extension parameter <c>detail</c> names the
/// tier or reason: <c>ram</c>, <c>ssd</c>, <c>collapsed</c>, <c>not-found</c> (a 404 the not-found cache
/// remembers), <c>parent-failed</c> (502/504), <c>fetch-limit</c> (503: too many fetches under way), <c>taken-down</c> (410: the title is on the takedown list).
/// </summary>
public static class CacheStatus
{
    public static readonly byte[] RamHit = Line("hit; detail=ram");
    public static readonly byte[] SsdHit = Line("hit; detail=ssd");
    public static readonly byte[] Fetched = Line("fwd=uri-miss; fwd-status=200; stored");
    public static readonly byte[] Collapsed = Line("fwd=uri-miss; fwd-status=200; collapsed; detail=collapsed");
    public static readonly byte[] NotFound = Line("fwd=uri-miss; fwd-status=404");
    public static readonly byte[] NotFoundCollapsed = Line("fwd=uri-miss; fwd-status=404; collapsed; detail=collapsed");
    public static readonly byte[] NotFoundCached = Line("hit; detail=not-found");
    public static readonly byte[] ParentFailed = Line("fwd=uri-miss; detail=parent-failed");
    public static readonly byte[] FetchLimit = Line("detail=fetch-limit");
    public static readonly byte[] TakenDown = Line("detail=taken-down");
    public static readonly byte[] Gone = Line("fwd=uri-miss; fwd-status=410");

    /// <summary>The 503 of a refused miss: Retry-After and its Cache-Status.</summary>
    public static readonly byte[] FetchLimitHeaders = [.. "Retry-After: 1\r\n"u8, .. FetchLimit];

    /// <summary>The line for a response served from <paramref name="tier"/> (a miss: how it met the fetch, which answered <paramref name="outcome"/>).</summary>
    public static byte[] For(CacheTier tier, FetchJoin join, FetchOutcome outcome) => tier switch
    {
        CacheTier.Ram => RamHit,
        CacheTier.Ssd => SsdHit,
        _ => (join, outcome) switch
        {
            (FetchJoin.Refused, _) => FetchLimit,
            (FetchJoin.TakenDown, _) => TakenDown,
            (_, FetchOutcome.Gone) => Gone,
            (FetchJoin.NotFoundCached, _) => NotFoundCached,
            (FetchJoin.Collapsed, FetchOutcome.Ok) => Collapsed,
            (FetchJoin.Collapsed, FetchOutcome.NotFound) => NotFoundCollapsed,
            (_, FetchOutcome.Ok) => Fetched,
            (_, FetchOutcome.NotFound) => NotFound,
            _ => ParentFailed,
        },
    };

    /// <summary>The header value alone (for the ASP.NET Core path).</summary>
    public static string Value(byte[] line) => System.Text.Encoding.ASCII.GetString(line, "Cache-Status: ".Length, line.Length - "Cache-Status: ".Length - 2);

    private static byte[] Line(string parameters) => System.Text.Encoding.ASCII.GetBytes($"Cache-Status: OpenConnect; {parameters}\r\n");
}
