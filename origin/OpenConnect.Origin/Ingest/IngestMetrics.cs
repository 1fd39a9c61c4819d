using Prometheus;

namespace OpenConnect.Origin.Ingest;

/// <summary>Ingest's Prometheus metrics, on the host's own registry.</summary>
public sealed class IngestMetrics
{
    public IngestMetrics(IMetricFactory factory)
    {
        Created = factory.CreateCounter("openconnect_origin_uploads_created_total", "Uploads created (POST /files/), by concatenation kind.", ["concat"]);
        Completed = factory.CreateCounter("openconnect_origin_uploads_completed_total", "Uploads whose last byte arrived (partial uploads excluded).");
        Rejected = factory.CreateCounter("openconnect_origin_uploads_rejected_total", "Uploads and requests refused, by cause: backlog (503 at creation), pipeline (the intake rejected the file), quota (a per-uploader quota at creation) or rate (429 from the /files/ rate limit).", ["cause"]);
        Submitted = factory.CreateCounter("openconnect_origin_uploads_submitted_total", "Completed uploads handed to the pipeline and accepted.");
        Expired = factory.CreateCounter("openconnect_origin_uploads_expired_total", "Incomplete uploads deleted by the sweeper, by cause: expired (no write within Expiration) or abandoned (no byte within AbandonAfter).", ["cause"]);
        Removed = factory.CreateCounter("openconnect_origin_upload_records_removed_total", "Records of finished or expired uploads removed by the sweeper after RecordRetention.");
        BytesReceived = factory.CreateCounter("openconnect_origin_upload_bytes_received_total", "Upload bytes committed to disk.");
        ChecksumMismatches = factory.CreateCounter("openconnect_origin_upload_checksum_mismatches_total", "Chunks discarded because their Upload-Checksum did not match.");
        Delayed = factory.CreateGauge("openconnect_origin_uploads_delayed", "Completed uploads waiting for the pipeline's backlog to drop.");
    }

    public Counter Created { get; }

    public Counter Completed { get; }

    public Counter Rejected { get; }

    public Counter Submitted { get; }

    public Counter Expired { get; }

    public Counter Removed { get; }

    public Counter BytesReceived { get; }

    public Counter ChecksumMismatches { get; }

    public Gauge Delayed { get; }
}
