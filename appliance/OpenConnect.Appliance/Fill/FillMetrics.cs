using OpenConnect.Appliance.Caching;
using Prometheus;

namespace OpenConnect.Appliance.Fill;

/// <summary>The fill agent's Prometheus metrics.</summary>
public sealed class FillMetrics
{
    public FillMetrics(IMetricFactory factory, CollectorRegistry registry, SegmentCache cache)
    {
        Objects = factory.CreateCounter("openconnect_appliance_fill_objects_total", "Fill objects by outcome: fetched, held (already on SSD), failed (no source could provide it).", ["result"]);
        Bytes = factory.CreateCounter("openconnect_appliance_fill_bytes_total", "Body bytes fetched by fill.");
        // Few label values: a site's peers and the origin, as the manifests name them.
        SourceBytes = factory.CreateCounter("openconnect_appliance_fill_source_bytes_total", "Body bytes fetched by fill, by source (the base URL of the peer or origin they came from).", ["source"]);
        SourceFailures = factory.CreateCounter("openconnect_appliance_fill_source_failures_total", "Fill fetches that failed at one source (error, timeout, integrity mismatch), by reason.", ["reason"]);
        Files = factory.CreateCounter("openconnect_appliance_fill_files_total", "Files (renditions) filled, by result.", ["result"]);
        ManifestVersion = factory.CreateGauge("openconnect_appliance_fill_manifest_version", "Version of the fill manifest the appliance holds (0: none).");
        var pinnedBytes = factory.CreateGauge("openconnect_appliance_fill_pinned_bytes", "Bytes pinned by fill (outside the SSD eviction policy).");
        var pinnedObjects = factory.CreateGauge("openconnect_appliance_fill_pinned_objects", "Objects pinned by fill.");
        registry.AddBeforeCollectCallback(() =>
        {
            pinnedBytes.Set(cache.PinnedBytes);
            pinnedObjects.Set(cache.PinnedCount);
        });
    }

    public Counter Objects { get; }

    public Counter Bytes { get; }

    public Counter SourceBytes { get; }

    public Counter SourceFailures { get; }

    public Counter Files { get; }

    public Gauge ManifestVersion { get; }
}
