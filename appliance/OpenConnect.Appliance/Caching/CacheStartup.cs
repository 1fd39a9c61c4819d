using Prometheus;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The cache's start step: opens the SSD tier (index recovery, reconciliation with the files, pins,
/// policy seeding) asynchronously when the host starts, instead of blocking inside dependency
/// injection, then mirrors the store's plain counters into the metrics registry at each scrape.
/// Registered before every other hosted service, so they and Kestrel start with the tier open.
/// </summary>
internal sealed class CacheStartup(SegmentCache cache, CollectorRegistry registry, IMetricFactory factory) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await cache.StartAsync(cancellationToken).ConfigureAwait(false);
        var store = cache.Store;
        var corrupt = factory.CreateCounter("openconnect_appliance_ssd_corrupt_dropped_total", "SSD objects dropped because their bytes or header failed verification.");
        var writeFailures = factory.CreateCounter("openconnect_appliance_ssd_write_failures_total", "SSD object writes that failed (disk full, I/O error).");
        var checkpointFailures = factory.CreateCounter("openconnect_appliance_ssd_checkpoint_failures_total", "SSD index checkpoints that failed.");
        var recovered = factory.CreateGauge("openconnect_appliance_ssd_recovered_objects", "Objects the SSD tier held after its last start (from the index or re-indexed from files).");
        recovered.Set(store.Recovery.Recovered + store.Recovery.Reindexed);
        registry.AddBeforeCollectCallback(() =>
        {
            corrupt.IncTo(store.CorruptObjectsDropped);
            writeFailures.IncTo(store.WriteFailures);
            checkpointFailures.IncTo(store.CheckpointFailures);
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
