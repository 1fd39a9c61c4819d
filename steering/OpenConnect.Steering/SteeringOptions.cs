using OpenConnect.Hosting;
using OpenConnect.Steering.Fleet;

namespace OpenConnect.Steering;

/// <summary>Steering settings (section <c>Steering</c>).</summary>
public sealed class SteeringOptions : IRoleOptions<SteeringOptions>
{
    public static string SectionName => "Steering";

    /// <summary>Directory holding prefix tables and signing keys. Default <c>.openconnect/steering</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "steering");

    /// <summary>
    /// Where the control plane listens: gRPC over HTTP/2 with TLS, and a client certificate from the
    /// fleet CA required (appliance registration and heartbeats, the fill controller's roster,
    /// certificate renewal). Port 0 picks a free port. Default <c>https://127.0.0.1:8280</c>.
    /// </summary>
    public string ControlUrl { get; set; } = "https://127.0.0.1:8280";

    /// <summary>The fleet CA, enrollment and operator credential (section <c>Steering:Fleet</c>).</summary>
    public FleetOptions Fleet { get; set; } = new();

    /// <summary>How often appliances are asked to send heartbeats. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An appliance silent for this long gets no new plays. Default 3 s.</summary>
    public TimeSpan HeartbeatExpiry { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Directory of prefix tables, one <c>{site}.prefixes</c> file per site. Default <c>{DataDirectory}/prefixes</c>.</summary>
    public string PrefixDirectory { get; set; } = "";

    /// <summary>How often the prefix directory is checked for changes besides file-system notifications. Default 30 s.</summary>
    public TimeSpan PrefixReloadInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The site (a region) for clients no prefix matches. Default <c>default</c>.</summary>
    public string DefaultSite { get; set; } = "default";

    /// <summary>An appliance is a candidate while its output is below this fraction of its capacity. Default 0.85.</summary>
    public double MaxLoadFraction { get; set; } = 0.85;

    /// <summary>
    /// Load (the larger of output against capacity and connections against the maximum) above which an
    /// appliance's rendezvous weight falls, linearly to a twentieth at <see cref="MaxLoadFraction"/>, so
    /// a hot appliance hands new sessions to its peers of the same rank before its cut-off. Below it,
    /// placement is plain rendezvous (cache affinity). At most <see cref="MaxLoadFraction"/>; equal
    /// turns shedding off. Default 0.6.
    /// </summary>
    public double LoadSheddingStart { get; set; } = 0.6;

    /// <summary>Appliance pathways offered per play, before the origin (always last). Default 3. 1–16.</summary>
    public int Pathways { get; set; } = 3;

    /// <summary>The origin: the last pathway, and where steering reads published manifests. Default <c>http://127.0.0.1:8100</c>.</summary>
    public string OriginUrl { get; set; } = "http://127.0.0.1:8100";

    /// <summary>
    /// The base URL players use to reach steering, for the playlist, MPD and steering-manifest URLs
    /// it hands out. Empty: taken from each request's scheme and Host. Default empty.
    /// </summary>
    public string PublicUrl { get; set; } = "";

    /// <summary>How long the origin's answers (published or not, manifests) are reused. Default 5 s.</summary>
    public TimeSpan CatalogCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Steering's Ed25519 signing key, created on first start. Default <c>{DataDirectory}/keys/steering-signing.key</c>.</summary>
    public string SigningKeyFile { get; set; } = "";

    /// <summary>How long a playback token stays valid. Default 6 h.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Bind tokens to the client's /24 (IPv4) or /48 (IPv6). Default true.</summary>
    public bool BindTokensToClientPrefix { get; set; } = true;

    /// <summary>
    /// The playback tokens issued. <c>Mac</c> (default): v2, one HMAC per appliance of the decision and
    /// one for the origin, each under that verifier's own key (appliances get theirs in the
    /// control-plane replies; the origin reads <c>origin-playback-mac.key</c>, written beside the signing
    /// key, through <c>Origin:PlaybackMacKeyFile</c>). <c>Ed25519</c>: v1, one signature checked with
    /// steering's public key, for a fleet whose appliances or origin do not accept v2 yet.
    /// </summary>
    public Signing.PlaybackTokenFormat TokenFormat { get; set; } = Signing.PlaybackTokenFormat.Mac;

    /// <summary>
    /// Keep issued tokens by (title, client prefix, expiry bucket, pathways) and hand the same one out
    /// again. A v2 token costs a few microseconds of HMAC, less than the cache's upkeep for a stream of
    /// new clients (<c>bench steering</c>), and the same grant yields the same token either way.
    /// Default false.
    /// </summary>
    public bool CacheTokens { get; set; }

    /// <summary>The TTL, in seconds, of the HLS and DASH steering manifests. Default 10.</summary>
    public int SteeringTtlSeconds { get; set; } = 10;

    /// <summary>
    /// Plays (<c>/play/{title}</c>) a client may start per second, sustained: a token bucket per IPv4
    /// address or IPv6 /64; past it steering answers 429 with <c>Retry-After</c>. Default 5.
    /// </summary>
    public double PlayRateLimitPerSecond { get; set; } = 5;

    /// <summary>Plays a client may start at once before <see cref="PlayRateLimitPerSecond"/> applies (the bucket's size). Default 50.</summary>
    public int PlayRateLimitBurst { get; set; } = 50;

    /// <summary>
    /// Clients whose buckets are kept. When full, idle clients' buckets are dropped, or all if that
    /// frees less than a quarter (clients start again with a full burst). Default 100000 (about 10 MB).
    /// </summary>
    public int PlayRateLimitClients { get; set; } = 100_000;

    /// <summary>
    /// (client prefix, title) pairs remembered per UTC day so a play counts toward popularity at most
    /// once per prefix (the /24 or /48 tokens are bound to) and title a day. At the cap, plays of new
    /// pairs are served but not counted until the next day. Default 1000000 (about 20 MB).
    /// </summary>
    public int MaxDailyPlayPairs { get; set; } = 1_000_000;

    /// <summary>
    /// Count every answered play instead of once per (client prefix, title) a day: for labs, benches
    /// and tests that play from one address. Default false.
    /// </summary>
    public bool CountRepeatPlays { get; set; }

    public string ResolvedPrefixDirectory => string.IsNullOrEmpty(PrefixDirectory) ? Path.Combine(DataDirectory, "prefixes") : PrefixDirectory;

    public string ResolvedSigningKeyFile => string.IsNullOrEmpty(SigningKeyFile) ? Path.Combine(DataDirectory, "keys", "steering-signing.key") : SigningKeyFile;

    public string ResolvedFleetDirectory => string.IsNullOrEmpty(Fleet.Directory) ? Path.Combine(DataDirectory, "fleet") : Fleet.Directory;

    public string ResolvedOperatorTokenFile => string.IsNullOrEmpty(Fleet.OperatorTokenFile) ? Path.Combine(ResolvedFleetDirectory, "operator.token") : Fleet.OperatorTokenFile;

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
        check.Require(Uri.TryCreate(ControlUrl, UriKind.Absolute, out var control) && control.Scheme == "https" && control.AbsolutePath == "/", "ControlUrl", ControlUrl, "must be an https:// URL with host and port, e.g. https://10.0.0.2:8280 (the control plane takes TLS with fleet client certificates only)");
        Fleet.Validate(check);
        check.Require(HeartbeatInterval >= TimeSpan.FromMilliseconds(50) && HeartbeatInterval <= TimeSpan.FromMinutes(1), "HeartbeatInterval", HeartbeatInterval, "must be between 00:00:00.05 and 00:01:00");
        check.Require(HeartbeatExpiry > HeartbeatInterval, "HeartbeatExpiry", HeartbeatExpiry, $"must be longer than Steering:HeartbeatInterval ({HeartbeatInterval})");
        check.Require(PrefixReloadInterval >= TimeSpan.FromSeconds(1), "PrefixReloadInterval", PrefixReloadInterval, "must be at least 00:00:01");
        check.Require(!string.IsNullOrWhiteSpace(DefaultSite), "DefaultSite", DefaultSite, "must name a site");
        check.Require(MaxLoadFraction is > 0 and <= 1, "MaxLoadFraction", MaxLoadFraction, "must be above 0 and at most 1");
        check.Require(LoadSheddingStart > 0 && LoadSheddingStart <= MaxLoadFraction, "LoadSheddingStart", LoadSheddingStart, $"must be above 0 and at most Steering:MaxLoadFraction ({MaxLoadFraction})");
        check.Require(Pathways is >= 1 and <= 16, "Pathways", Pathways, "must be between 1 and 16");
        check.RequireAbsoluteHttpUri(OriginUrl, "OriginUrl");
        check.RequireAbsoluteHttpUri(PublicUrl, "PublicUrl", allowEmpty: true);
        check.Require(CatalogCacheTime >= TimeSpan.Zero && CatalogCacheTime <= TimeSpan.FromHours(1), "CatalogCacheTime", CatalogCacheTime, "must be between 00:00:00 and 01:00:00");
        check.Require(TokenLifetime >= TimeSpan.FromMinutes(1) && TokenLifetime <= TimeSpan.FromDays(7), "TokenLifetime", TokenLifetime, "must be between 00:01:00 and 7.00:00:00");
        check.Require(SteeringTtlSeconds is >= 1 and <= 3600, "SteeringTtlSeconds", SteeringTtlSeconds, "must be between 1 and 3600");
        check.Require(PlayRateLimitPerSecond is >= 0.001 and <= 1_000_000, "PlayRateLimitPerSecond", PlayRateLimitPerSecond, "must be between 0.001 and 1000000");
        check.Require(PlayRateLimitBurst is >= 1 and <= 1_000_000, "PlayRateLimitBurst", PlayRateLimitBurst, "must be between 1 and 1000000");
        check.Require(PlayRateLimitClients is >= 1 and <= 10_000_000, "PlayRateLimitClients", PlayRateLimitClients, "must be between 1 and 10000000");
        check.Require(MaxDailyPlayPairs is >= 1 and <= 100_000_000, "MaxDailyPlayPairs", MaxDailyPlayPairs, "must be between 1 and 100000000");
    }
}
