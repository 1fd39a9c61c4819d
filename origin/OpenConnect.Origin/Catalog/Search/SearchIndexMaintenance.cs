using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// Merges the search indexes every <see cref="CatalogOptions.SearchOptimizeInterval"/> (a day by
/// default): FTS5 adds a segment per write transaction and merges them only in part, so a catalog
/// that keeps publishing reads more segments per query over time.
/// </summary>
internal sealed partial class SearchIndexMaintenance : BackgroundService
{
    private readonly CatalogDatabase _database;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger<SearchIndexMaintenance> _logger;

    public SearchIndexMaintenance(CatalogDatabase database, IOptions<OriginOptions> options, TimeProvider time, ILogger<SearchIndexMaintenance> logger)
    {
        _database = database;
        _time = time;
        _interval = options.Value.Catalog.SearchOptimizeInterval;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await _database.OptimizeSearchAsync(stoppingToken).ConfigureAwait(false);
                Optimized(_logger, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failed merge leaves the indexes as they were (one transaction); try again next time.
                OptimizeFailed(_logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "search indexes merged in {Seconds:F1} s")]
    private static partial void Optimized(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "merging the search indexes failed")]
    private static partial void OptimizeFailed(ILogger logger, Exception exception);
}
