using OpenConnect.Origin.Pipeline.Jobs;
using Prometheus;

namespace OpenConnect.Origin.Pipeline;

/// <summary>The pipeline's Prometheus metrics, on the host's own registry.</summary>
public sealed class PipelineMetrics
{
    public PipelineMetrics(IMetricFactory factory)
    {
        Titles = factory.CreateGauge("openconnect_origin_titles", "Titles by pipeline state.", ["state"]);
        StepSeconds = factory.CreateHistogram("openconnect_origin_pipeline_step_seconds", "Duration of successful pipeline steps (encode: one chunk of one rung).", new HistogramConfiguration
        {
            LabelNames = ["step"],
            Buckets = Histogram.ExponentialBuckets(0.05, 2, 16),
        });
        PendingChunkJobs = factory.CreateGauge("openconnect_origin_pipeline_chunk_jobs_pending", "Chunk encode jobs queued or running in the job store, over every title and worker.");
        StepFailures = factory.CreateCounter("openconnect_origin_pipeline_step_failures_total", "Pipeline step attempts that failed.", ["step"]);
        WorkObjectBytes = factory.CreateCounter("openconnect_origin_pipeline_work_object_bytes_total", "Bytes of chunk inputs and outputs moved through the object store's work prefix (Storage:Kind=S3), by direction (put, get) and object (source, chunk).", ["direction", "object"]);
    }

    public Gauge Titles { get; }

    public Histogram StepSeconds { get; }

    public Counter StepFailures { get; }

    public Gauge PendingChunkJobs { get; }

    public Counter WorkObjectBytes { get; }

    public void Refresh(JobStore store)
    {
        foreach (var (state, count) in store.CountByState())
        {
            Titles.WithLabels(state).Set(count);
        }

        PendingChunkJobs.Set(store.PendingChunkCount());
    }
}
