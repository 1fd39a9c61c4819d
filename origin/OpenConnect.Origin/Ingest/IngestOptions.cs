using OpenConnect.Hosting;

namespace OpenConnect.Origin.Ingest;

/// <summary>TUS ingest settings (section <c>Origin:Ingest</c>).</summary>
public sealed class IngestOptions
{
    public const string Reject = "reject";
    public const string Delay = "delay";
    public const string LocalStore = "Local";
    public const string SharedStore = "Shared";
    private const int MiB = 1 << 20;

    /// <summary>
    /// Where upload records and bytes live. <c>Local</c> (default): files under
    /// <c>{DataDirectory}/uploads/</c>, one writer per upload gated in this process; an upload must
    /// be resumed on the instance that started it. <c>Shared</c>: records in the pipeline's
    /// PostgreSQL database (<c>Origin:Pipeline:Database:Provider=PostgreSql</c>) and bytes in an S3
    /// multipart upload in the bucket of <c>Origin:Storage</c> (<c>Kind=S3</c>), so an upload
    /// started on one origin instance resumes on any other behind the same load balancer; needs
    /// both, or the origin does not start. Shared uploads do not offer concatenation (parallel
    /// uploads); quotas and rate limits are counted per instance.
    /// </summary>
    public string Store { get; set; } = LocalStore;

    /// <summary>
    /// With <c>Store=Shared</c>: the size of each part of an upload's S3 multipart upload. Bytes past
    /// the last full part are kept as a tail object rewritten by every PATCH, so a smaller part
    /// means smaller rewrites and more parts (S3 allows 10,000, so the largest upload is 10,000
    /// parts); every PATCH in flight holds one part in memory. Default 8 MiB; between 5 MiB (S3's
    /// smallest part but the last) and 64 MiB.
    /// </summary>
    public int SharedPartSizeBytes { get; set; } = 8 * MiB;

    public bool IsShared => string.Equals(Store.Trim(), SharedStore, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Creating an upload needs a bearer token of a user with the uploader (or admin) role, issued by
    /// the catalog's login; the title is then that user's, on their channel. Default true. Upload URLs themselves are unguessable capabilities (128 random bits).
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

    /// <summary>
    /// A created upload that has received no byte within this time expires (the sweeper deletes it);
    /// after its first byte <see cref="Expiration"/> applies. Default 1 hour.
    /// </summary>
    public TimeSpan AbandonAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long the record of an upload that is over (expired, abandoned, rejected, handed to the
    /// pipeline, concatenated) stays, so HEAD answers 410 and the status API the outcome; then the
    /// sweeper removes it from disk and memory and requests get 404. Default 24 hours.
    /// </summary>
    public TimeSpan RecordRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Unfinished uploads one uploader may have at once (uploading, partial uploads waiting for their final upload, delayed); one more gets 429. Default 10.</summary>
    public int MaxUploadsInFlightPerUploader { get; set; } = 10;

    /// <summary>
    /// Sum of the <c>Upload-Length</c> (bytes received, while deferred) of one uploader's unfinished
    /// uploads; an upload that would take it over gets 413. At least <see cref="MaxUploadBytes"/>.
    /// Default 64 GiB.
    /// </summary>
    public long MaxBytesInFlightPerUploader { get; set; } = 64L << 30;

    /// <summary>
    /// Titles one uploader may start in any 24 hours (rolling: titles the pipeline recorded in the
    /// last 24 h, rejected ones included, plus unfinished uploads); one more gets 429 with
    /// <c>Retry-After</c> until the oldest leaves the window. Default 50.
    /// </summary>
    public int MaxTitlesPerDayPerUploader { get; set; } = 50;

    /// <summary>Longest source accepted; a longer one is rejected when the pipeline probes it (the file is deleted). Default 4 hours.</summary>
    public TimeSpan MaxSourceDuration { get; set; } = TimeSpan.FromHours(4);

    /// <summary>
    /// Total source duration one uploader may have accepted in any 24 hours (rolling); a source that
    /// would take it over is rejected at probe time, and once it is used up creation gets 429. Default 12 hours.
    /// </summary>
    public TimeSpan MaxSourceDurationPerDayPerUploader { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// Titles of one uploader in the pipeline's backlog (queued or processing) at which their next
    /// upload waits: creation gets 429, a completed upload stays <c>delayed</c> until one of theirs
    /// is done. 0 means max(1, <see cref="MaxBacklog"/> / 4). Default 0.
    /// </summary>
    public int MaxBacklogPerUploader { get; set; }

    /// <summary>Requests to <c>/files/</c> per second for one uploader (token bucket, all their uploads together); beyond it 429 with <c>Retry-After</c>. Default 50.</summary>
    public int RequestsPerSecondPerUploader { get; set; } = 50;

    /// <summary>Burst of that bucket. Default 250.</summary>
    public int RequestBurstPerUploader { get; set; } = 250;

    /// <summary>Requests to <c>/files/</c> per second from one client address, whoever sends them; beyond it 429 with <c>Retry-After</c>. Default 100.</summary>
    public int RequestsPerSecondPerAddress { get; set; } = 100;

    /// <summary>Burst of that bucket. Default 500.</summary>
    public int RequestBurstPerAddress { get; set; } = 500;

    public bool DelayWhenBacklogged => string.Equals(WhenBacklogged, Delay, StringComparison.Ordinal);

    /// <summary>The backlog share of one uploader in force (<see cref="MaxBacklogPerUploader"/>, or a quarter of <see cref="MaxBacklog"/>).</summary>
    public int EffectiveBacklogPerUploader => MaxBacklogPerUploader > 0 ? MaxBacklogPerUploader : Math.Max(1, MaxBacklog / 4);

    public void Validate(OptionsCheck check)
    {
        check.Require(IsShared || string.Equals(Store.Trim(), LocalStore, StringComparison.OrdinalIgnoreCase), "Ingest:Store", Store, "must be Local or Shared");
        check.Require(SharedPartSizeBytes is >= 5 * MiB and <= 64 * MiB, "Ingest:SharedPartSizeBytes", SharedPartSizeBytes, "must be between 5242880 (5 MiB, S3's smallest part) and 67108864 (64 MiB)");
        check.Require(MaxUploadBytes > 0, "Ingest:MaxUploadBytes", MaxUploadBytes, "must be positive");
        check.Require(MaxMetadataBytes is >= 64 and <= 1 << 20, "Ingest:MaxMetadataBytes", MaxMetadataBytes, "must be between 64 and 1048576");
        check.Require(Expiration >= TimeSpan.FromMinutes(1), "Ingest:Expiration", Expiration, "must be at least 00:01:00");
        check.Require(SweepInterval >= TimeSpan.FromSeconds(1), "Ingest:SweepInterval", SweepInterval, "must be at least 00:00:01");
        check.Require(MaxBacklog >= 0, "Ingest:MaxBacklog", MaxBacklog, "must be zero or more");
        check.Require(WhenBacklogged is Reject or Delay, "Ingest:WhenBacklogged", WhenBacklogged, "must be 'reject' or 'delay'");
        check.Require(RetryAfterSeconds is >= 1 and <= 86_400, "Ingest:RetryAfterSeconds", RetryAfterSeconds, "must be between 1 and 86400");
        check.Require(DelayedRetryInterval >= TimeSpan.FromMilliseconds(100), "Ingest:DelayedRetryInterval", DelayedRetryInterval, "must be at least 00:00:00.1");
        check.Require(WriteBufferBytes is >= 4096 and <= 64 << 20, "Ingest:WriteBufferBytes", WriteBufferBytes, "must be between 4096 and 67108864");
        check.Require(AbandonAfter >= TimeSpan.FromMinutes(1), "Ingest:AbandonAfter", AbandonAfter, "must be at least 00:01:00");
        check.Require(RecordRetention >= TimeSpan.FromMinutes(1), "Ingest:RecordRetention", RecordRetention, "must be at least 00:01:00");
        check.Require(MaxUploadsInFlightPerUploader >= 1, "Ingest:MaxUploadsInFlightPerUploader", MaxUploadsInFlightPerUploader, "must be at least 1");
        check.Require(MaxBytesInFlightPerUploader >= MaxUploadBytes, "Ingest:MaxBytesInFlightPerUploader", MaxBytesInFlightPerUploader, "must be at least Ingest:MaxUploadBytes");
        check.Require(MaxTitlesPerDayPerUploader >= 1, "Ingest:MaxTitlesPerDayPerUploader", MaxTitlesPerDayPerUploader, "must be at least 1");
        check.Require(MaxSourceDuration >= TimeSpan.FromSeconds(1), "Ingest:MaxSourceDuration", MaxSourceDuration, "must be at least 00:00:01");
        check.Require(MaxSourceDurationPerDayPerUploader >= MaxSourceDuration, "Ingest:MaxSourceDurationPerDayPerUploader", MaxSourceDurationPerDayPerUploader, "must be at least Ingest:MaxSourceDuration");
        check.Require(MaxBacklogPerUploader >= 0, "Ingest:MaxBacklogPerUploader", MaxBacklogPerUploader, "must be zero (a quarter of MaxBacklog) or more");
        check.Require(RequestsPerSecondPerUploader is >= 1 and <= 1_000_000, "Ingest:RequestsPerSecondPerUploader", RequestsPerSecondPerUploader, "must be between 1 and 1000000");
        check.Require(RequestBurstPerUploader >= RequestsPerSecondPerUploader && RequestBurstPerUploader <= 10_000_000, "Ingest:RequestBurstPerUploader", RequestBurstPerUploader, "must be between Ingest:RequestsPerSecondPerUploader and 10000000");
        check.Require(RequestsPerSecondPerAddress is >= 1 and <= 1_000_000, "Ingest:RequestsPerSecondPerAddress", RequestsPerSecondPerAddress, "must be between 1 and 1000000");
        check.Require(RequestBurstPerAddress >= RequestsPerSecondPerAddress && RequestBurstPerAddress <= 10_000_000, "Ingest:RequestBurstPerAddress", RequestBurstPerAddress, "must be between Ingest:RequestsPerSecondPerAddress and 10000000");
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
