using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Contracts.Hosting;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance;

/// <summary>Appliance settings (section <c>Appliance</c>). Defaults run one appliance on a dev box.</summary>
public sealed class ApplianceOptions : IRoleOptions<ApplianceOptions>
{
    public static string SectionName => "Appliance";

    /// <summary>Stable identity reported to steering. Default: the host name. 1–64 characters of <c>[A-Za-z0-9._-]</c>, checked at start.</summary>
    /// <value>the host name</value>
    public string Id { get; set; } = Environment.MachineName;

    /// <summary>The ISP site this appliance belongs to. Default <c>local</c>. Same rule as <see cref="Id"/>; steering's prefix files and the fill controller name sites the same way.</summary>
    public string Site { get; set; } = "local";

    /// <summary>Parents tried in order on a cache miss: peer appliances in the site, then the origin (last: its 404 is final).</summary>
    public List<string> Parents { get; set; } = [];

    /// <summary>
    /// Where the control endpoint listens: <c>POST/DELETE/GET /control/drain</c> and gRPC
    /// <c>ApplianceFill.Prefetch</c>, for operators only. HTTP/2 over TLS only (<c>https://host:port</c>):
    /// the appliance serves its own fleet certificate and every client must present a fleet
    /// certificate; requests are served to <c>openconnect://operator/{name}</c> certificates alone.
    /// Opened only when the appliance has a fleet identity (<c>Appliance:Fleet:CaCertificateFile</c>);
    /// empty turns it off. Keep it on a management interface: players never need it.
    /// Default <c>https://127.0.0.1:8480</c>.
    /// </summary>
    public string ControlUrl { get; set; } = "https://127.0.0.1:8480";

    public CacheOptions Cache { get; set; } = new();

    public FillOptions Fill { get; set; } = new();

    public UpstreamOptions Upstream { get; set; } = new();

    public CorsOptions Cors { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    public AccessLogOptions AccessLog { get; set; } = new();

    /// <summary>The data listeners' transport (section <c>Appliance:Serving</c>).</summary>
    public OpenConnect.Appliance.Serving.ServingOptions Serving { get; set; } = new();

    /// <summary>
    /// Base URL players use to reach this appliance, reported to steering: the URL for IPv4 players
    /// when <see cref="PublicUrlIPv6"/> is set, else for every player. Empty (default) means the first
    /// data URL (<c>urls</c>) that is not an IPv6 address.
    /// </summary>
    public string PublicUrl { get; set; } = "";

    /// <summary>
    /// Base URL IPv6 players use, e.g. <c>https://oca-1.v6.isp.example:8400</c> or
    /// <c>http://[2001:db8::10]:8400</c>; steering hands each player the URL of the family its request
    /// came in on. Empty (default): with <see cref="PublicUrl"/> set, that URL serves both families;
    /// with both empty, the first data URL that is an IPv6 address (if any).
    /// </summary>
    public string PublicUrlIPv6 { get; set; } = "";

    /// <summary>Bytes per second this appliance can send, reported to steering as capacity. Default 1.25 GB/s (10 Gb/s).</summary>
    public long CapacityBytesPerSecond { get; set; } = 1_250_000_000;

    /// <summary>
    /// Steering's Ed25519 public keys (base64), for v1 playback tokens (signed by one of them). Steering
    /// issues v2 tokens, which verify with the MAC key it sends this appliance over the control plane
    /// and need no setting; list steering's key here only while v1 tokens are still in circulation
    /// (a token lifetime after the upgrade). Several keys may be listed while steering rotates. Default: none.
    /// </summary>
    public List<string> PlaybackKeys { get; set; } = [];

    /// <summary>
    /// Networks (CIDR) allowed to fetch unsigned <c>/v/…</c> paths: peer appliances and fill. Default
    /// empty: every content request needs a playback token.
    /// </summary>
    public List<string> UnsignedNetworks { get; set; } = [];

    /// <summary>Start draining (no new plays wanted; current sessions finish). Also toggled at run time on the control endpoint. Default false.</summary>
    public bool Draining { get; set; }

    public SteeringClientOptions Steering { get; set; } = new();

    /// <summary>The fleet identity: key, certificate, CA and enrollment (section <c>Appliance:Fleet</c>).</summary>
    public Identity.FleetClientOptions Fleet { get; set; } = new();

    public void Validate(OptionsCheck check)
    {
        check.RequireAbsoluteHttpUri(PublicUrl, "PublicUrl", allowEmpty: true);
        check.RequireAbsoluteHttpUri(PublicUrlIPv6, "PublicUrlIPv6", allowEmpty: true);
        check.Require(!Control.PublicUrls.NamesIPv4Address(PublicUrlIPv6), "PublicUrlIPv6", PublicUrlIPv6, "names an IPv4 address; give a host name or an IPv6 address in brackets, e.g. http://[2001:db8::10]:8400");
        check.Require(CapacityBytesPerSecond > 0, "CapacityBytesPerSecond", CapacityBytesPerSecond, "must be a positive number of bytes per second");
        check.RequirePlaybackKeys(PlaybackKeys, "PlaybackKeys");
        check.RequireNetworkPrefixes(UnsignedNetworks, "UnsignedNetworks");
        Steering.Validate(check);
        Fleet.Validate(check);
        check.Require(Steering.Url.Length == 0 || Steering.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase), "Steering:Url", Steering.Url, "must be an https:// URL: the control plane takes TLS with fleet certificates only");
        check.Require(Identifiers.IsValid(Id), "Id", Id, $"must be {Identifiers.Rule} (steering refuses anything else)");
        check.Require(Identifiers.IsValid(Site), "Site", Site, $"must be {Identifiers.Rule} (steering refuses anything else)");
        for (var i = 0; i < Parents.Count; i++)
        {
            check.RequireAbsoluteHttpUri(Parents[i], $"Parents:{i}");
        }

        check.Require(ControlUrl.Length == 0 || Control.ControlListener.IsValidUrl(ControlUrl), "ControlUrl", ControlUrl, "must be an https:// URL with host and port, e.g. https://10.0.0.5:8480 (the control endpoint takes TLS with fleet certificates only), or empty for none");
        Cache.Validate(check);
        Fill.Validate(check);
        Upstream.Validate(check);
        Cors.Validate(check);
        Limits.Validate(check);
        AccessLog.Validate(check);
        Serving.Validate(check);
    }
}

/// <summary>The control-plane client (section <c>Appliance:Steering</c>).</summary>
public sealed class SteeringClientOptions
{
    /// <summary>
    /// Steering's gRPC control-plane URL, e.g. <c>http://10.0.0.2:8280</c>. Empty (default) with no
    /// <see cref="SrvName"/>: no control plane (a standalone appliance).
    /// </summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// More steering instances (replicas) beside <see cref="Url"/>, e.g. <c>Urls:0=https://10.0.0.3:8280</c>.
    /// The appliance registers and heartbeats to every one of them, each in its own session (a dead
    /// replica does not slow the others), so any replica can steer players to it. Default none.
    /// </summary>
    public string[] Urls { get; set; } = [];

    /// <summary>
    /// DNS SRV name to find the control plane by, e.g. <c>_steering._tcp.isp.example</c>. Every target
    /// it lists is a steering replica and gets its own session; when it resolves it wins over
    /// <see cref="Url"/> and <see cref="Urls"/>. Default: none.
    /// </summary>
    public string SrvName { get; set; } = "";

    /// <summary>DNS server (<c>host:port</c>) for <see cref="SrvName"/>. Default: the system's resolvers.</summary>
    public string DnsServer { get; set; } = "";

    /// <summary>How often the SRV name is resolved again. Default 30 s.</summary>
    public TimeSpan ResolveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between heartbeats. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadline for one Register or Heartbeat call. Default 2 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After this long without a successful heartbeat the appliance stops taking new sessions
    /// (503 for playlists and manifests; segments keep flowing) and reports Degraded. Default 30 s.
    /// </summary>
    public TimeSpan LostAfter { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => Url.Length > 0 || Urls.Length > 0 || SrvName.Length > 0;

    /// <summary><see cref="Url"/> and <see cref="Urls"/>, without repeats: the replicas used while SRV gives none.</summary>
    public IReadOnlyList<Uri> StaticUrls =>
        [.. new[] { Url }.Concat(Urls).Where(u => u.Length > 0).Select(u => new Uri(u)).Distinct()];

    public void Validate(OptionsCheck check)
    {
        check.RequireAbsoluteHttpUri(Url, "Steering:Url", allowEmpty: true);
        for (var i = 0; i < Urls.Length; i++)
        {
            check.RequireAbsoluteHttpUri(Urls[i], $"Steering:Urls:{i}");
        }

        check.Require(SrvName.Length == 0 || (SrvName.StartsWith('_') && !SrvName.Contains(' ')), "Steering:SrvName", SrvName, "must be an SRV name such as _steering._tcp.isp.example");
        check.Require(DnsServer.Length == 0 || Hosting.Discovery.SrvLocator.TryParseServer(DnsServer, out _), "Steering:DnsServer", DnsServer, "must be host:port with a numeric address, e.g. 127.0.0.1:53");
        check.Require(ResolveInterval >= TimeSpan.FromSeconds(1), "Steering:ResolveInterval", ResolveInterval, "must be at least 00:00:01");
        check.Require(HeartbeatInterval >= TimeSpan.FromMilliseconds(100), "Steering:HeartbeatInterval", HeartbeatInterval, "must be at least 00:00:00.1");
        check.Require(CallTimeout > TimeSpan.Zero, "Steering:CallTimeout", CallTimeout, "must be positive");
        check.Require(LostAfter > HeartbeatInterval, "Steering:LostAfter", LostAfter, "must be longer than Steering:HeartbeatInterval");
    }
}

/// <summary>Cache tier sizes and location (section <c>Appliance:Cache</c>).</summary>
public sealed class CacheOptions
{
    /// <summary>Directory holding the SSD tier and its index. Default <c>.openconnect/appliance</c>.</summary>
    public string Directory { get; set; } = Path.Combine(".openconnect", "appliance");

    /// <summary>Bytes of object bodies kept in RAM. Default 256 MiB.</summary>
    public long RamBytes { get; set; } = 256L << 20;

    /// <summary>Bytes of object bodies kept on the SSD tier. Default 10 GiB.</summary>
    public long SsdBytes { get; set; } = 10L << 30;

    /// <summary>
    /// Eviction/admission policy: <c>s3fifo</c> (default), <c>video</c>, <c>lru</c> or <c>fifo</c>, for both
    /// tiers except that <c>video</c> governs the SSD tier (it reads title, rendition and segment from each
    /// fetched object's path and writes only what leaves probation worth it) while RAM keeps <c>s3fifo</c>.
    /// </summary>
    public string Policy { get; set; } = PolicyFactory.Default;

    /// <summary>
    /// With <c>Cache:Policy=video</c>: how much the fill controller's per-title forecast, delivered with the
    /// night manifest, counts against the policy's own request counters as an admission and eviction prior
    /// (1: as much as the requests counted in the policy's current window; 0 ignores it). The last manifest's
    /// forecast is kept across a restart (the manifest is stored). Default 0: in <c>bench cache-sim</c> a forecast
    /// made from past days did not lower byte misses at any weight tried (0.1–20). 0 to 1000.
    /// </summary>
    public double VideoPriorWeight { get; set; }

    /// <summary>How often the SSD index is checkpointed. Default 30 s.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a cached playlist (<c>.m3u8</c>, <c>.mpd</c>, or any object a parent sends without
    /// <c>immutable</c>) is fresh when the parent's <c>Cache-Control</c> gives no <c>max-age</c>; a stale one is
    /// revalidated with the parent (<c>If-None-Match</c>) at its next request. Segments are immutable and
    /// never revalidated. A playlist read back from the SSD tier counts its freshness from when it was written there.
    /// 0 revalidates every request. Default 5 s; at most 1 day.
    /// </summary>
    public TimeSpan PlaylistTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long past its freshness a playlist is still served from the cache when its revalidation fails
    /// (every parent unreachable or erroring): stale-if-error. After that, the parent's error is the answer.
    /// A 404 or 410 from the parent is never masked. 0 never serves a stale copy. Default 5 min; at most 1 day.
    /// </summary>
    public TimeSpan StaleIfError { get; set; } = TimeSpan.FromMinutes(5);

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(Directory), "Cache:Directory", Directory, "must name a directory");
        check.Require(RamBytes > 0, "Cache:RamBytes", RamBytes, "must be a positive number of bytes");
        check.Require(SsdBytes > 0, "Cache:SsdBytes", SsdBytes, "must be a positive number of bytes");
        check.Require(PolicyFactory.IsKnown(Policy), "Cache:Policy", Policy, $"must be one of {string.Join(", ", PolicyFactory.Names)}");
        check.Require(double.IsFinite(VideoPriorWeight) && VideoPriorWeight is >= 0 and <= 1000, "Cache:VideoPriorWeight", VideoPriorWeight, "must be between 0 and 1000");
        check.Require(CheckpointInterval >= TimeSpan.FromSeconds(1), "Cache:CheckpointInterval", CheckpointInterval, "must be at least 00:00:01");
        check.Require(PlaylistTtl >= TimeSpan.Zero && PlaylistTtl <= TimeSpan.FromDays(1), "Cache:PlaylistTtl", PlaylistTtl, "must be 00:00:00 to 1.00:00:00");
        check.Require(StaleIfError >= TimeSpan.Zero && StaleIfError <= TimeSpan.FromDays(1), "Cache:StaleIfError", StaleIfError, "must be 00:00:00 to 1.00:00:00");
    }
}

/// <summary>Push fill (section <c>Appliance:Fill</c>).</summary>
public sealed class FillOptions
{
    /// <summary>Fill bandwidth cap in bytes/s: the fill agent's, and Prefetch requests' that set none. 0 means uncapped. Default 150 MB/s (1.2 Gb/s).</summary>
    public long RateBytesPerSecond { get; set; } = 150_000_000;

    /// <summary>
    /// The fill controller's control URL (gRPC <c>FillOrders</c> over mutual TLS with the appliance's
    /// fleet certificate; the controller must present <c>openconnect://fill-controller</c>), e.g.
    /// <c>https://10.0.0.3:8380</c>. Must be https. Empty (default): no fill agent; the appliance only
    /// caches what players pull.
    /// </summary>
    public string ControllerUrl { get; set; } = "";

    /// <summary>How often the fill agent asks for its manifest and whether its window is open. Default 30 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one object from one source (head and body) before the next source is tried. Default 30 s.</summary>
    public TimeSpan SourceTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the fill agent reports the requests it served per (title, rendition) to the fill controller (with a fill controller only). Default 15 min.</summary>
    public TimeSpan DemandReportInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Most (title, rendition) keys counted between two demand reports; requests of further keys are counted as dropped. Default 65,536 (about 3 MB).</summary>
    public int DemandTableEntries { get; set; } = 65_536;

    public void Validate(OptionsCheck check)
    {
        check.Require(RateBytesPerSecond >= 0, "Fill:RateBytesPerSecond", RateBytesPerSecond, "must not be negative (0 means uncapped)");
        check.Require(ControllerUrl.Length == 0 || (Uri.TryCreate(ControllerUrl, UriKind.Absolute, out var controller) && controller.Scheme == Uri.UriSchemeHttps && controller.Host.Length > 0), "Fill:ControllerUrl", ControllerUrl, "must be empty or an https:// URL (the fill controller takes only mutual TLS with fleet certificates), e.g. https://10.0.0.3:8380");
        check.Require(PollInterval >= TimeSpan.FromMilliseconds(100), "Fill:PollInterval", PollInterval, "must be at least 00:00:00.1");
        check.Require(SourceTimeout > TimeSpan.Zero, "Fill:SourceTimeout", SourceTimeout, "must be positive");
        check.Require(DemandReportInterval >= TimeSpan.FromMilliseconds(100), "Fill:DemandReportInterval", DemandReportInterval, "must be at least 00:00:00.1");
        check.Require(DemandTableEntries is >= 1 and <= 1 << 24, "Fill:DemandTableEntries", DemandTableEntries, "must be 1..16777216");
    }
}

/// <summary>Pull-through from parents (section <c>Appliance:Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    /// <summary>TCP connect timeout per parent. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time for a parent to answer with a response head. Default 5 s.</summary>
    public TimeSpan HeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest pause between body reads from a parent. Default 5 s.</summary>
    public TimeSpan IdleReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest object the appliance pulls and caches. Default 256 MiB.</summary>
    public long MaxObjectBytes { get; set; } = 256L << 20;

    /// <summary>How long a 404 from the parents is remembered. Default 10 s.</summary>
    public TimeSpan NotFoundTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most remembered 404s (<see cref="NotFoundTtl"/>); beyond it the oldest are forgotten. Default 100,000.</summary>
    public int NotFoundMaxEntries { get; set; } = 100_000;

    /// <summary>
    /// Most memory the remembered 404s may take, counted as 96 bytes plus two per path character each;
    /// beyond it the oldest are forgotten. Default 32 MiB.
    /// </summary>
    public long NotFoundMaxBytes { get; set; } = 32L << 20;

    /// <summary>
    /// Most parent fetches under way at once; a miss that would start another (for an object no fetch is
    /// under way for) gets 503 with Retry-After. Requests joining a fetch under way are not limited. Default 1024.
    /// </summary>
    public int MaxConcurrentFetches { get; set; } = 1024;

    /// <summary>
    /// Most parent fetches under way at once for one title, so a flood of unique (missing) names under one
    /// title cannot take every fetch place; beyond it 503. Default 128.
    /// </summary>
    public int MaxConcurrentFetchesPerTitle { get; set; } = 128;

    /// <summary>Connection pool size per parent. Default 64.</summary>
    public int MaxConnectionsPerParent { get; set; } = 64;

    /// <summary>
    /// The origin's Ed25519 public keys (base64, the content of <c>{Origin:DataDirectory}/keys/origin-signing.pub</c>).
    /// Required (at least one): an object is admitted and served only when its title's integrity
    /// manifest is signed by one of them and lists it with the body's size and SHA-256; anything else
    /// is answered 502 and never stored. No default.
    /// </summary>
    public List<string> IntegrityKeys { get; set; } = [];

    /// <summary>
    /// Test-only: lets the appliance start without <see cref="IntegrityKeys"/>, and admit, unverified,
    /// objects of titles without an integrity manifest and files a manifest does not list (a manifest
    /// that exists must still be valid, and signed when keys are given). Logged as a warning at start.
    /// Never set it in production. Default false.
    /// </summary>
    public bool AllowUnsignedContent { get; set; }

    /// <summary>
    /// DNS SRV name of the origin (e.g. <c>_origin._tcp.cdn.example</c>); when set, the origin it
    /// names is tried after <c>Appliance:Parents</c>, re-resolved every <see cref="OriginResolveInterval"/>.
    /// Empty: the parents are the static list only.
    /// </summary>
    public string OriginSrvName { get; set; } = "";

    /// <summary>DNS server for <see cref="OriginSrvName"/> as <c>address:port</c>; empty uses the system resolver.</summary>
    public string OriginDnsServer { get; set; } = "";

    /// <summary>How often the origin's SRV name is resolved again. Default 30 s.</summary>
    public TimeSpan OriginResolveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Where this appliance serves other appliances that have it as a parent (e.g.
    /// <c>https://0.0.0.0:8443</c>): TLS with its fleet certificate, a fleet client certificate naming
    /// an appliance required, unsigned <c>/v/…</c> only (no <c>Appliance:UnsignedNetworks</c> needed;
    /// signed player paths answer 404 there). Needs <c>Appliance:Fleet:CaCertificateFile</c>.
    /// Empty (default): no parent listener; peers pull from the data port by network.
    /// </summary>
    public string ParentListenerUrl { get; set; } = "";

    public void Validate(OptionsCheck check)
    {
        check.Require(IntegrityKeys.Count > 0 || AllowUnsignedContent, "Upstream:IntegrityKeys", "", "at least one origin public key is required (the content of {Origin:DataDirectory}/keys/origin-signing.pub); Appliance:Upstream:AllowUnsignedContent=true starts without one, for tests only");
        for (var i = 0; i < IntegrityKeys.Count; i++)
        {
            var ok = true;
            try
            {
                Contracts.Security.Ed25519PublicKey.Parse(IntegrityKeys[i]);
            }
            catch (FormatException)
            {
                ok = false;
            }

            check.Require(ok, $"Upstream:IntegrityKeys:{i}", IntegrityKeys[i], "must be a base64 Ed25519 public key (32 bytes)");
        }

        check.Require(OriginSrvName.Length == 0 || (OriginSrvName.StartsWith('_') && !OriginSrvName.Contains(' ')), "Upstream:OriginSrvName", OriginSrvName, "must be an SRV name such as _origin._tcp.cdn.example");
        check.Require(OriginDnsServer.Length == 0 || Hosting.Discovery.SrvLocator.TryParseServer(OriginDnsServer, out _), "Upstream:OriginDnsServer", OriginDnsServer, "must be host:port with a numeric address, e.g. 127.0.0.1:53");
        check.Require(ParentListenerUrl.Length == 0 || IsHttpsListenUrl(ParentListenerUrl), "Upstream:ParentListenerUrl", ParentListenerUrl, "must be https:// with an IP address (or * or localhost) and a port, e.g. https://0.0.0.0:8443");
        check.Require(OriginResolveInterval >= TimeSpan.FromSeconds(1), "Upstream:OriginResolveInterval", OriginResolveInterval, "must be at least 00:00:01");

        check.Require(ConnectTimeout > TimeSpan.Zero, "Upstream:ConnectTimeout", ConnectTimeout, "must be positive");
        check.Require(HeaderTimeout > TimeSpan.Zero, "Upstream:HeaderTimeout", HeaderTimeout, "must be positive");
        check.Require(IdleReadTimeout > TimeSpan.Zero, "Upstream:IdleReadTimeout", IdleReadTimeout, "must be positive");
        check.Require(MaxObjectBytes is > 0 and <= int.MaxValue, "Upstream:MaxObjectBytes", MaxObjectBytes, "must be between 1 and 2147483647");
        check.Require(NotFoundTtl >= TimeSpan.Zero, "Upstream:NotFoundTtl", NotFoundTtl, "must not be negative");
        check.Require(MaxConnectionsPerParent > 0, "Upstream:MaxConnectionsPerParent", MaxConnectionsPerParent, "must be positive");
        check.Require(NotFoundMaxEntries > 0, "Upstream:NotFoundMaxEntries", NotFoundMaxEntries, "must be positive");
        check.Require(NotFoundMaxBytes >= 64 * 1024, "Upstream:NotFoundMaxBytes", NotFoundMaxBytes, "must be at least 65536");
        check.Require(MaxConcurrentFetches > 0, "Upstream:MaxConcurrentFetches", MaxConcurrentFetches, "must be positive");
        check.Require(MaxConcurrentFetchesPerTitle > 0 && MaxConcurrentFetchesPerTitle <= MaxConcurrentFetches, "Upstream:MaxConcurrentFetchesPerTitle", MaxConcurrentFetchesPerTitle, "must be positive and at most Upstream:MaxConcurrentFetches");
    }

    private static bool IsHttpsListenUrl(string urls)
    {
        var (parsed, problem) = ListenUrls.TryParse(urls);
        return problem is null && parsed.Count > 0 && parsed.All(u => u.Uri.Scheme == Uri.UriSchemeHttps);
    }
}

/// <summary>Cross-origin access for browser players (section <c>Appliance:Cors</c>).</summary>
public sealed class CorsOptions
{
    /// <summary>Origins allowed to read responses: <c>*</c> (default) or exact origins like <c>https://watch.example</c>.</summary>
    public List<string> AllowedOrigins { get; set; } = ["*"];

    public void Validate(OptionsCheck check)
    {
        for (var i = 0; i < AllowedOrigins.Count; i++)
        {
            var origin = AllowedOrigins[i];
            var ok = origin == "*" || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/");
            check.Require(ok, $"Cors:AllowedOrigins:{i}", origin, "must be * or an origin such as https://watch.example");
        }
    }
}

/// <summary>Protection against hostile or broken clients (section <c>Appliance:Limits</c>).</summary>
public sealed class LimitsOptions
{
    /// <summary>Concurrent client connections; more are refused. Default 20000.</summary>
    public long MaxConnections { get; set; } = 20_000;

    /// <summary>
    /// Concurrent connections from one client address; more are answered 503 and closed. Players behind
    /// carrier-grade NAT share an address, so keep it well above one household's connections. 0 turns the
    /// check off. Default 1000.
    /// </summary>
    public int MaxConnectionsPerClient { get; set; } = 1000;

    /// <summary>
    /// Time a new connection has to send the first byte of its first request; a connection that never
    /// sends one is closed (without a response) after this, much sooner than an idle keep-alive one. Default 10 s.
    /// </summary>
    public TimeSpan FirstRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest request line (method, target, version); longer gets 414. Default 8 KiB.</summary>
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>Largest header section; larger gets 431. Default 16 KiB.</summary>
    public int MaxRequestHeaderBytes { get; set; } = 16 * 1024;

    /// <summary>Most header fields; more gets 431. Default 64.</summary>
    public int MaxRequestHeaderCount { get; set; } = 64;

    /// <summary>Time allowed for a complete request head once its first byte arrived. Default 10 s.</summary>
    public TimeSpan RequestHeadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive connection is kept. Default 65 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(65);

    /// <summary>Slowest a client may read a response body before it is cut off, in bytes/s. Default 8 KiB/s.</summary>
    public long MinResponseBytesPerSecond { get; set; } = 8 * 1024;

    /// <summary>Grace period before the minimum response rate is enforced. Default 10 s.</summary>
    public TimeSpan MinResponseRateGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>SO_SNDBUF for client sockets in bytes; 0 leaves the kernel's autotuning. Default 0.</summary>
    public int SendBufferBytes { get; set; }

    public void Validate(OptionsCheck check)
    {
        check.Require(SendBufferBytes >= 0, "Limits:SendBufferBytes", SendBufferBytes, "must not be negative (0 keeps the kernel default)");
        check.Require(MaxConnections > 0, "Limits:MaxConnections", MaxConnections, "must be positive");
        check.Require(MaxConnectionsPerClient >= 0, "Limits:MaxConnectionsPerClient", MaxConnectionsPerClient, "must not be negative (0 turns the check off)");
        check.Require(FirstRequestTimeout > TimeSpan.Zero, "Limits:FirstRequestTimeout", FirstRequestTimeout, "must be positive");
        check.Require(MaxRequestLineBytes is >= 256 and <= 65536, "Limits:MaxRequestLineBytes", MaxRequestLineBytes, "must be between 256 and 65536");
        check.Require(MaxRequestHeaderBytes is >= 1024 and <= 1048576, "Limits:MaxRequestHeaderBytes", MaxRequestHeaderBytes, "must be between 1024 and 1048576");
        check.Require(MaxRequestHeaderCount is >= 8 and <= 1000, "Limits:MaxRequestHeaderCount", MaxRequestHeaderCount, "must be between 8 and 1000");
        check.Require(RequestHeadTimeout > TimeSpan.Zero, "Limits:RequestHeadTimeout", RequestHeadTimeout, "must be positive");
        check.Require(KeepAliveTimeout > TimeSpan.Zero, "Limits:KeepAliveTimeout", KeepAliveTimeout, "must be positive");
        check.Require(MinResponseBytesPerSecond >= 0, "Limits:MinResponseBytesPerSecond", MinResponseBytesPerSecond, "must not be negative (0 turns the check off)");
        check.Require(MinResponseRateGrace >= TimeSpan.Zero, "Limits:MinResponseRateGrace", MinResponseRateGrace, "must not be negative");
    }
}

/// <summary>The per-request access log (section <c>Appliance:AccessLog</c>).</summary>
public sealed class AccessLogOptions
{
    /// <summary>File the lines are appended to; SIGUSR1 reopens it (for rotation). Empty (default): no access log.</summary>
    public string Path { get; set; } = "";

    /// <summary>
    /// <c>combined</c> (nginx's combined format, default: Referer and User-Agent are <c>-</c>, the content
    /// path without a token; a parent-listener pull names its caller's fleet identity as the remote user) or
    /// <c>json</c> (one object per line: <c>time</c>, <c>client</c>, <c>method</c>, <c>path</c>, <c>status</c>,
    /// <c>bytes</c>, <c>cache</c> <c>ram</c>/<c>ssd</c>/<c>miss</c>/<c>-</c>, <c>seconds</c>, <c>caller</c>: the
    /// fleet identity of a parent-listener pull, <c>null</c> on the data port).
    /// </summary>
    public string Format { get; set; } = Serving.AccessLogFormat.Combined;

    /// <summary>Lines queued for the writer at most; beyond it lines are dropped and counted. Default 65,536. 16..16777216; requests never wait for the writer, and dropped lines are counted in <c>openconnect_appliance_access_log_dropped_total</c>.</summary>
    public int QueueLines { get; set; } = 65_536;

    public bool Enabled => Path.Length > 0;

    public void Validate(OptionsCheck check)
    {
        check.Require(Serving.AccessLogFormat.IsKnown(Format), "AccessLog:Format", Format, "must be combined or json");
        check.Require(QueueLines is >= 16 and <= 16_777_216, "AccessLog:QueueLines", QueueLines, "must be between 16 and 16777216");
    }
}
