using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Origin.Ingest;

/// <summary>TUS ingest settings (section <c>Origin:Ingest</c>).</summary>
public sealed class IngestOptions
{
    public const string Reject = "reject";
    public const string Delay = "delay";

    /// <summary>
    /// Creating an upload needs a bearer token of a user with the uploader (or admin) role, issued by
    /// the catalog's login; the title is then that user's, on their channel. Default true.
    /// </summary>
    public bool RequireToken { get; set; } = true;

    /// <summary>Largest upload accepted, advertised as <c>Tus-Max-Size</c>. Default 64 GiB.</summary>
    public long MaxUploadBytes { get; set; } = 64L << 30;

    /// <summary>Longest <c>Upload-Metadata</c> header accepted, in bytes. Default 16384.</summary>
    public int MaxMetadataBytes { get; set; } = 16 * 1024;

    /// <summary>How long an incomplete upload lives after its last successful write. Default 24 hours.</summary>
    public TimeSpan Expiration { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the sweeper deletes the data of expired uploads. Default 5 minutes.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Titles in the pipeline's backlog at which new uploads are held back. Default 20.</summary>
    public int MaxBacklog { get; set; } = 20;

    /// <summary>
    /// What happens when the backlog is at <see cref="MaxBacklog"/>: <c>reject</c> (creation answers
    /// 503 with <c>Retry-After</c>) or <c>delay</c> (uploads are accepted and completed ones wait in
    /// state <c>delayed</c> until the backlog drops). Default <c>reject</c>.
    /// </summary>
    public string WhenBacklogged { get; set; } = Reject;

    /// <summary>The <c>Retry-After</c> sent with a 503 when the backlog is full. Default 60 seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 60;

    /// <summary>How often delayed uploads are offered to the pipeline again. Default 10 seconds.</summary>
    public TimeSpan DelayedRetryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Size of the pooled buffer a PATCH body is copied through to disk (one write per buffer). Default 256 KiB.</summary>
    public int WriteBufferBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// Whether every PATCH is synced to disk (body, then info file) before it is acknowledged. Off,
    /// a process crash still loses nothing (the page cache survives it) and a power loss can only
    /// move an upload's offset back (the body is cut to the recorded offset or the offset to the
    /// body), so the client resends the tail; the last chunk and every state change are always
    /// synced. On, each PATCH waits for the disk (measured: about half the throughput at 1 MiB
    /// chunks, see bench/RESULTS.md). Default false.
    /// </summary>
    public bool SyncOnCommit { get; set; }

    /// <summary>Slowest upload body accepted (bytes per second, after a 10 s grace) before the connection is closed. Default 4096.</summary>
    public int MinBodyBytesPerSecond { get; set; } = 4096;

    /// <summary>Origins allowed to upload from a browser on another origin (CORS); <c>*</c> allows any. Default none.</summary>
    public string[] CorsOrigins { get; set; } = [];

    public bool DelayWhenBacklogged => string.Equals(WhenBacklogged, Delay, StringComparison.Ordinal);

    public void Validate(OptionsCheck check)
    {
        check.Require(MaxUploadBytes > 0, "Ingest:MaxUploadBytes", MaxUploadBytes, "must be positive");
        check.Require(MaxMetadataBytes is >= 64 and <= 1 << 20, "Ingest:MaxMetadataBytes", MaxMetadataBytes, "must be between 64 and 1048576");
        check.Require(Expiration >= TimeSpan.FromMinutes(1), "Ingest:Expiration", Expiration, "must be at least 00:01:00");
        check.Require(SweepInterval >= TimeSpan.FromSeconds(1), "Ingest:SweepInterval", SweepInterval, "must be at least 00:00:01");
        check.Require(MaxBacklog >= 0, "Ingest:MaxBacklog", MaxBacklog, "must be zero or more");
        check.Require(WhenBacklogged is Reject or Delay, "Ingest:WhenBacklogged", WhenBacklogged, "must be 'reject' or 'delay'");
        check.Require(RetryAfterSeconds is >= 1 and <= 86_400, "Ingest:RetryAfterSeconds", RetryAfterSeconds, "must be between 1 and 86400");
        check.Require(DelayedRetryInterval >= TimeSpan.FromMilliseconds(100), "Ingest:DelayedRetryInterval", DelayedRetryInterval, "must be at least 00:00:00.1");
        check.Require(WriteBufferBytes is >= 4096 and <= 64 << 20, "Ingest:WriteBufferBytes", WriteBufferBytes, "must be between 4096 and 67108864");
        check.Require(MinBodyBytesPerSecond >= 0, "Ingest:MinBodyBytesPerSecond", MinBodyBytesPerSecond, "must be zero (no minimum) or more");
        for (var i = 0; i < CorsOrigins.Length; i++)
        {
            var origin = CorsOrigins[i];
            var ok = origin == "*" || (Uri.TryCreate(origin, UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                && uri.AbsolutePath == "/" && !origin.EndsWith('/'));
            check.Require(ok, $"Ingest:CorsOrigins:{i}", origin, "must be '*' or an origin like https://example.org (scheme, host and optional port, no path)");
        }
    }
}
