using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Placement;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Prefixes;
using OpenConnect.Steering.Signing;

namespace OpenConnect.Steering.Selection;

/// <summary>One pathway offered to a player: an appliance (or the origin) and the signed base URL of the title on it.</summary>
/// <param name="Id">The pathway id (the appliance id, or <c>origin</c>).</param>
/// <param name="ApplianceId">The appliance, or null for the origin.</param>
/// <param name="Site">The appliance's site, or null for the origin.</param>
/// <param name="HostUrl">The appliance's (or origin's) base URL, without a trailing slash.</param>
/// <param name="TitleBase">The signed base of the title: <c>{HostUrl}/s/{token}/v/{title}/</c>.</param>
public sealed record Pathway(string Id, string? ApplianceId, string? Site, string HostUrl, string TitleBase);

/// <summary>A decision for one (client, title): the client's site, the token and the ranked pathways, origin last.</summary>
public sealed record Decision(string Title, string Site, string Token, DateTimeOffset Expires, IReadOnlyList<Pathway> Pathways);

/// <summary>
/// Makes steering decisions: client address to site (prefix tables), ranking (registry +
/// <see cref="PathwaySelector"/>), and signing (<see cref="TokenIssuer"/>).
/// </summary>
/// <remarks>
/// Each appliance pathway carries the appliance's URL for the client's address family
/// (<see cref="ApplianceView.UrlFor"/>). The family does not change the ranking: an appliance with
/// one URL keeps its place and hands that URL to both families, because rendezvous placement is
/// what keeps a title's cache hits on the same appliances, and a player on a network with both
/// families reaches either URL (a single-family player that cannot still has the next pathways).
/// </remarks>
public sealed class SteeringDecisions
{
    public const string OriginPathwayId = ControlPlaneService.OriginPathwayId;

    private readonly ApplianceRegistry _registry;
    private readonly Func<PrefixTable> _prefixes;
    private readonly TokenIssuer _tokens;
    private readonly TimeProvider _time;
    private readonly SelectionPolicy _policy;
    private readonly string _defaultSite;
    private readonly string _originUrl;
    private readonly SteeringMetrics? _metrics;

    public SteeringDecisions(ApplianceRegistry registry, Func<PrefixTable> prefixes, TokenIssuer tokens, TimeProvider time, SteeringOptions options, SteeringMetrics? metrics = null)
    {
        _registry = registry;
        _prefixes = prefixes;
        _tokens = tokens;
        _time = time;
        _policy = new SelectionPolicy(options.HeartbeatExpiry, options.MaxLoadFraction, options.Pathways, options.LoadSheddingStart);
        _defaultSite = options.DefaultSite;
        _originUrl = options.OriginUrl.TrimEnd('/');
        _metrics = metrics;
    }

    public SteeringDecisions(ApplianceRegistry registry, PrefixDirectoryWatcher prefixes, TokenIssuer tokens, TimeProvider time, IOptions<SteeringOptions> options, SteeringMetrics metrics)
        : this(registry, () => prefixes.Table, tokens, time, options.Value, metrics)
    {
    }

    public SelectionPolicy Policy => _policy;

    public ApplianceRegistry Registry => _registry;

    /// <summary>The site of a client address: its longest matching prefix, else the default site.</summary>
    public string SiteOf(IPAddress? client) => (client is null ? null : _prefixes().Lookup(client)) ?? _defaultSite;

    /// <summary>Decides the pathways for <paramref name="title"/> and <paramref name="client"/>.</summary>
    /// <param name="title">The title played.</param>
    /// <param name="client">The client's address (null: default site, unbound token).</param>
    /// <param name="sign">
    /// False for answers that carry no URL (steering manifests without clones): the pathways'
    /// <see cref="Pathway.TitleBase"/> then has an empty token and must not be handed out.
    /// </param>
    public Decision Decide(string title, IPAddress? client, bool sign = true)
    {
        var started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        var site = SiteOf(client);
        var buffer = default(PathwayBuffer);
        Span<ApplianceView?> chosen = buffer;
        var holders = _registry.Holders(title, out var titleId);
        var count = PathwaySelector.Rank(title, Rendezvous.HashTitle(title), titleId, site, _registry.Members(site), holders, now, _policy, chosen);
        var (token, expires) = sign ? _tokens.Issue(title, client, now, chosen[..count]) : ("", default);
        var pathways = new Pathway[count + 1];
        for (var i = 0; i < count; i++)
        {
            var appliance = chosen[i]!;
            var url = appliance.UrlFor(client);
            pathways[i] = new Pathway(appliance.Id, appliance.Id, appliance.Site, url, TitleBase(url, token, title));
        }

        pathways[count] = new Pathway(OriginPathwayId, null, null, _originUrl, TitleBase(_originUrl, token, title));
        _metrics?.Decided(Stopwatch.GetElapsedTime(started));
        return new Decision(title, site, token, expires, pathways);
    }

    /// <summary>
    /// True when a player on <paramref name="applianceId"/> should stay there: the appliance may still
    /// take plays and is either among the decision's pathways or in the client's own site.
    /// </summary>
    public bool StaysCurrent(string applianceId, Decision decision) =>
        _registry.Find(applianceId) is { } appliance
        && _policy.IsEligible(appliance, _time.GetUtcNow())
        && (appliance.Site == decision.Site || decision.Pathways.Any(p => p.Id == applianceId));

    public static string TitleBase(string hostUrl, string token, string title) => string.Concat(hostUrl, "/s/", token, "/v/", title, "/");
}

/// <summary>Room for one decision's ranked appliances on the stack.</summary>
[System.Runtime.CompilerServices.InlineArray(PathwaySelector.MaxPathways)]
internal struct PathwayBuffer
{
    private ApplianceView? _first;
}
