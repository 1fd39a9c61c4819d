using OpenConnect.Hosting;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Ingest;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Protection;
using OpenConnect.Origin.Web;

namespace OpenConnect.Origin;

/// <summary>Origin settings (section <c>Origin</c>).</summary>
public sealed class OriginOptions : IRoleOptions<OriginOptions>
{
    public static string SectionName => "Origin";

    public const string AllRole = "all";
    public const string WorkerRole = "worker";

    /// <summary>
    /// What this process runs: <c>all</c> (default: the API, ingest, pipeline, catalog and parent
    /// endpoint) or <c>worker</c>: only chunk encode jobs claimed from the pipeline's job store
    /// (<c>Pipeline:Database</c>, PostgreSQL for workers beside a running origin). With
    /// <c>Storage:Kind=S3</c> (the same settings as the origin) a worker needs only a
    /// <see cref="DataDirectory"/> of its own, on any host; with the local store it must share the
    /// origin's. No API, only <c>/healthz</c> and <c>/metrics</c> on the management listener. Run one
    /// per host with <c>Pipeline:MaxParallelEncodes</c> sized to its cores.
    /// </summary>
    public string Role { get; set; } = AllRole;

    /// <summary>Whether <see cref="Role"/> is <c>worker</c>.</summary>
    public bool IsWorker => string.Equals(Role.Trim(), WorkerRole, StringComparison.OrdinalIgnoreCase);

    /// <summary>Directory holding uploads, the SQLite databases, work files and published titles. Default <c>.openconnect/origin</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "origin");

    /// <summary>
    /// File holding the origin's Ed25519 signing key (base64 seed), created on first start with
    /// owner-only permissions. Empty means <c>{DataDirectory}/keys/origin-signing.key</c>.
    /// </summary>
    public string SigningKeyFile { get; set; } = "";

    /// <summary>
    /// Networks (CIDR) allowed to pull unsigned <c>/v/…</c> paths from the parent endpoint: the
    /// appliances' networks in production. Empty (default) means loopback only: <c>127.0.0.0/8</c>
    /// and <c>::1/128</c>.
    /// </summary>
    public List<string> ParentNetworks { get; set; } = [];

    /// <summary>
    /// Steering's Ed25519 public keys (base64), for v1 playback tokens: players steered to the origin
    /// as the last pathway present <c>/s/{token}/v/…</c> signed by one of them. Needed only while v1
    /// tokens circulate (steering issues v2 by default; see <see cref="PlaybackMacKeyFile"/>). Default: none.
    /// </summary>
    public List<string> PlaybackKeys { get; set; } = [];

    /// <summary>
    /// The origin's playback MAC key file, for v2 tokens: steering writes it as
    /// <c>origin-playback-mac.key</c> beside its signing key (base64 of 32 bytes, owner-only); copy it
    /// here over a channel you trust, as you would a TLS private key. It verifies only the origin's
    /// entry of a token. Empty (default): v2 tokens are refused at the origin.
    /// </summary>
    public string PlaybackMacKeyFile { get; set; } = "";

    /// <summary>Where published titles are kept: local files (default) or an S3-compatible bucket (section <c>Origin:Storage</c>).</summary>
    public Storage.ObjectStoreOptions Storage { get; set; } = new();

    public IngestOptions Ingest { get; set; } = new();

    public PipelineOptions Pipeline { get; set; } = new();

    public CatalogOptions Catalog { get; set; } = new();

    public WebAppOptions Web { get; set; } = new();

    public ProtectionOptions Protection { get; set; } = new();

    /// <summary>The fleet parent listener: TLS with the origin's fleet certificate, appliances' certificates required (section <c>Origin:Fleet</c>).</summary>
    public Publishing.OriginFleetOptions Fleet { get; set; } = new();

    public string SigningKeyPath => string.IsNullOrEmpty(SigningKeyFile) ? Path.Combine(DataDirectory, "keys", "origin-signing.key") : SigningKeyFile;

    public string PublishedDirectory => Path.Combine(DataDirectory, "published");

    /// <summary>The parent networks in force (<see cref="ParentNetworks"/>, or loopback when it is empty).</summary>
    public IReadOnlyList<string> EffectiveParentNetworks => ParentNetworks.Count > 0 ? ParentNetworks : ["127.0.0.0/8", "::1/128"];

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
        check.Require(IsWorker || string.Equals(Role.Trim(), AllRole, StringComparison.OrdinalIgnoreCase), "Role", Role, "must be all or worker");
        check.RequireNetworkPrefixes(ParentNetworks, "ParentNetworks");
        check.RequirePlaybackKeys(PlaybackKeys, "PlaybackKeys");
        check.Require(PlaybackMacKeyFile.Length == 0 || Contracts.Security.PlaybackMacKey.DescribeFile(PlaybackMacKeyFile) is null, "PlaybackMacKeyFile", PlaybackMacKeyFile,
            "must be empty or name a readable key file holding base64 of 32 bytes (steering's origin-playback-mac.key)");
        Storage.Validate(check);
        Ingest.Validate(check);
        Pipeline.Validate(check);
        Catalog.Validate(check);
        Web.Validate(check, Fleet.IsConfigured);
        Protection.Validate(check);
        Fleet.Validate(check);
    }
}
