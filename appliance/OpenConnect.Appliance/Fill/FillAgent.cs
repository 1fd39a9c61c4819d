using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Identity;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Appliance.Fill;

/// <summary>
/// The appliance's side of push fill. Every <c>Appliance:Fill:PollInterval</c> it asks the fill
/// controller for its manifest (pull: an appliance that was down simply asks when it is back).
/// A new manifest is stored at <c>{Cache:Directory}/fill/manifest.bin</c> and applied at once:
/// pinned objects of files no longer in it are handed back to the eviction policy, and its per-title
/// forecast becomes the <c>video</c> policy's prior (<see cref="ForecastPrior"/>; the stored manifest's
/// forecast is applied again at start). While the
/// controller says the site's window is open, the agent fills the files not yet done for this
/// manifest (<see cref="FillPass"/>) and reports each file's outcome. Every
/// <c>Appliance:Fill:DemandReportInterval</c> it also reports the requests served per (title,
/// rendition) since the last such report (<see cref="RenditionRequestCounter"/>), from which the controller
/// learns the site's rendition mix; a report that fails is added back and sent with the next.
/// The controller is reached over mutual TLS: the appliance's fleet certificate (the current one: the
/// channel is rebuilt after a renewal), and the controller must present <c>openconnect://fill-controller</c>
/// from the fleet CA.
/// </summary>
public sealed class FillAgent : BackgroundService
{
    private readonly FillOptions _options;
    private readonly string _applianceId;
    private readonly string _manifestFile;
    private readonly SegmentCache _cache;
    private readonly CacheInventory _inventory;
    private readonly FillMetrics _metrics;
    private readonly RenditionRequestCounter _demand;
    private readonly Upstream.IntegrityKeys _integrityKeys;
    private readonly Prometheus.Counter _integrityRefusals;
    private readonly TimeProvider _time;
    private readonly ILogger<FillAgent> _logger;
    private readonly FleetEnrollment _fleet;
    private readonly Upstream.ParentTls _parentTls;
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private FillManifest? _manifest;
    private DateTimeOffset _lastDemandReport;

    public FillAgent(IOptions<ApplianceOptions> options, SegmentCache cache, CacheInventory inventory, FillMetrics metrics, ApplianceMetrics applianceMetrics, RenditionRequestCounter demand, TimeProvider time, ILogger<FillAgent> logger, FleetEnrollment fleet, Upstream.ParentTls parentTls, Upstream.IntegrityKeys integrityKeys)
    {
        _fleet = fleet;
        _parentTls = parentTls;
        _integrityRefusals = applianceMetrics.IntegrityRefusals;
        _demand = demand;
        _options = options.Value.Fill;
        _applianceId = options.Value.Id;
        _manifestFile = Path.Combine(options.Value.Cache.Directory, "fill", "manifest.bin");
        _cache = cache;
        _inventory = inventory;
        _metrics = metrics;
        _integrityKeys = integrityKeys;
        _time = time;
        _logger = logger;
    }

    /// <summary>Version of the manifest held (0: none).</summary>
    public ulong ManifestVersion => _manifest?.Version ?? 0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.ControllerUrl.Length == 0)
        {
            return;
        }

        var credentials = _fleet.Credentials
            ?? throw new InvalidOperationException("Appliance:Fill:ControllerUrl needs the appliance's fleet identity (Appliance:Fleet:CaCertificateFile and an enrolled certificate): the fill controller takes only fleet client certificates");
        await LoadStoredManifestAsync(stoppingToken).ConfigureAwait(false);
        GrpcChannel? channel = null;
        var channelVersion = -1;
        FillOrders.FillOrdersClient? client = null;
        // https sources (peers' parent listeners, the origin's fleet parent listener) are pulled with the
        // appliance's current fleet certificate and must present a fleet certificate of an appliance or the origin.
        using var fetcher = new SourceFetcher(_options.SourceTimeout, _parentTls);
        _lastDemandReport = _time.GetUtcNow();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (client is null || credentials.Version != channelVersion)
                {
                    // A renewed certificate takes effect on a new channel (its TLS options hold the certificate).
                    channel?.Dispose();
                    channelVersion = credentials.Version;
                    channel = GrpcChannel.ForAddress(_options.ControllerUrl, new GrpcChannelOptions
                    {
                        HttpHandler = new SocketsHttpHandler { SslOptions = credentials.ClientOptions(FleetIdentity.FillController), ConnectTimeout = TimeSpan.FromSeconds(10) },
                    });
                    client = new FillOrders.FillOrdersClient(channel);
                }

                if (!await PollOnceAsync(client, fetcher, stoppingToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        finally
        {
            channel?.Dispose();
        }
    }

    /// <summary>One round (demand report, manifest, fill) and the wait after it; false once stopping.</summary>
    private async Task<bool> PollOnceAsync(FillOrders.FillOrdersClient client, SourceFetcher fetcher, CancellationToken stoppingToken)
    {
        try
        {
            await ReportDemandAsync(client, stoppingToken).ConfigureAwait(false);
            await PollAsync(client, fetcher, stoppingToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            FillLog.ControllerUnreachable(_logger, _options.PollInterval, ex);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // A bad manifest or a local storage error: the agent keeps running and asks again.
            FillLog.PassFailed(_logger, _options.PollInterval, ex);
        }

        try
        {
            await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return true;
    }

    private async Task PollAsync(FillOrders.FillOrdersClient client, SourceFetcher fetcher, CancellationToken cancellationToken)
    {
        var reply = await client.GetManifestAsync(new ManifestRequest { ApplianceId = _applianceId, HaveVersion = ManifestVersion }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
        if (reply.Version != ManifestVersion && !reply.ZstdManifest.IsEmpty)
        {
            var bytes = reply.ZstdManifest.ToByteArray();
            var manifest = ManifestCodec.Decode(bytes);
            await StoreManifestAsync(bytes, cancellationToken).ConfigureAwait(false);
            await ApplyAsync(manifest, cancellationToken).ConfigureAwait(false);
        }

        if (!reply.WindowOpen || _manifest is not { } current)
        {
            return;
        }

        var pending = current.Files.Where(f => !_done.Contains(FileKey(f.Title, f.Rendition))).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        var pass = new FillPass(_cache, fetcher, _metrics, _integrityRefusals, _integrityKeys.Current, _options.RateBytesPerSecond, _time, _logger);
        for (var i = 0; i < pending.Count; i++)
        {
            var file = pending[i];
            var progress = await pass.FillFileAsync(file, cancellationToken).ConfigureAwait(false);
            var report = new ProgressReport { ApplianceId = _applianceId, ManifestVersion = current.Version };
            report.Files.Add(progress);
            var ack = await client.ReportProgressAsync(report, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            if (progress.State == FileState.Done)
            {
                _done.Add(FileKey(file.Title, file.Rendition));
            }

            if (!ack.Current)
            {
                // A newer manifest exists: fetch it at the next poll rather than fill a stale one.
                return;
            }

            if (ack.WindowClosed && i + 1 < pending.Count)
            {
                // Fill traffic stays inside the window: a pass longer than the window stops between
                // files, and the rest waits for the next window (a file begun is finished).
                FillLog.WindowClosed(_logger, pending.Count - i - 1);
                return;
            }
        }
    }

    /// <summary>Sends the requests counted since the last report once <c>DemandReportInterval</c> has passed; on failure they go back into the table.</summary>
    private async Task ReportDemandAsync(FillOrders.FillOrdersClient client, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (now - _lastDemandReport < _options.DemandReportInterval)
        {
            return;
        }

        _lastDemandReport = now;
        var (counts, dropped) = _demand.Drain();
        if (counts.Count == 0 && dropped == 0)
        {
            return;
        }

        var report = new ProgressReport { ApplianceId = _applianceId, ManifestVersion = ManifestVersion, DemandDropped = dropped };
        foreach (var (title, rendition, requests) in counts)
        {
            report.Demand.Add(new RenditionDemand { Title = title, Rendition = rendition, Requests = requests });
        }

        try
        {
            await client.ReportProgressAsync(report, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
        }
        catch (RpcException)
        {
            foreach (var (title, rendition, requests) in counts)
            {
                _demand.Add(title, rendition, requests);
            }

            throw;
        }

        FillLog.DemandReported(_logger, counts.Count, counts.Sum(c => c.Requests), dropped);
    }

    /// <summary>Makes <paramref name="manifest"/> current: objects pinned for files it no longer lists go back under the eviction policy.</summary>
    private async Task ApplyAsync(FillManifest manifest, CancellationToken cancellationToken)
    {
        // Inventory entries are "{title}" (title-level objects) or "{title}/{rendition}", like FileKey.
        var keep = manifest.Files.Select(f => FileKey(f.Title, f.Rendition)).Concat(manifest.Files.Select(f => f.Title)).ToHashSet(StringComparer.Ordinal);
        var unpinned = 0;
        foreach (var key in _cache.PinnedKeys())
        {
            // The inventory knows each held object's entry in memory; the object's header is read only
            // for one it has not accounted for yet (just after a restart).
            var known = _inventory.EntryOf(key);
            var path = known is null ? _cache.Store.ReadPath(key) : null;
            var entry = known ?? (path is null ? null : CacheInventory.EntryFor(path));
            if (entry is null || !keep.Contains(entry))
            {
                // The path gives a content-aware policy the object's hint (title, rendition, position):
                // read from the object's header here, outside the policy lock, once per released pin.
                _cache.Unpin(key, path ?? _cache.Store.ReadPath(key));
                unpinned++;
            }
        }

        await _cache.SavePinsAsync(cancellationToken).ConfigureAwait(false);
        _manifest = manifest;
        _cache.SetSsdPrior(ForecastPrior.From(manifest.Forecast));
        _done.Clear();
        _metrics.ManifestVersion.Set(manifest.Version);
        FillLog.ManifestApplied(_logger, manifest.Version, manifest.Day, manifest.Files.Count, unpinned);
    }

    private async Task LoadStoredManifestAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_manifestFile))
        {
            return;
        }

        try
        {
            _manifest = ManifestCodec.Decode(await File.ReadAllBytesAsync(_manifestFile, cancellationToken).ConfigureAwait(false));
            _metrics.ManifestVersion.Set(_manifest.Version);
            // A restart keeps the last forecast until the controller sends a newer manifest.
            _cache.SetSsdPrior(ForecastPrior.From(_manifest.Forecast));
        }
        catch (FormatException ex)
        {
            FillLog.StoredManifestUnreadable(_logger, _manifestFile, ex);
        }
    }

    private async Task StoreManifestAsync(byte[] zstd, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_manifestFile)!);
        var temp = _manifestFile + ".tmp";
        await File.WriteAllBytesAsync(temp, zstd, cancellationToken).ConfigureAwait(false);
        File.Move(temp, _manifestFile, overwrite: true);
    }

    private static string FileKey(string title, string rendition) => $"{title}/{rendition}";
}
