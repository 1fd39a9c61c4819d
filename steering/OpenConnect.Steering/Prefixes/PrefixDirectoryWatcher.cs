using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace OpenConnect.Steering.Prefixes;

/// <summary>
/// Holds the live prefix table and reloads it when the directory changes: file-system notifications
/// (debounced) plus a periodic check of names, sizes and times, since notifications can be lost.
/// A directory that fails to load keeps the previous table and turns <c>/healthz</c> Degraded.
/// </summary>
public sealed class PrefixDirectoryWatcher : IHostedService, IHealthCheck, IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);

    private readonly string _directory;
    private readonly TimeSpan _interval;
    private readonly ILogger<PrefixDirectoryWatcher> _logger;
    private readonly Lock _reloadLock = new();
    private volatile PrefixTable _table = PrefixTable.Empty;
    private volatile string? _error;
    private string _signature = "";
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private Timer? _periodic;

    public PrefixDirectoryWatcher(IOptions<SteeringOptions> options, ILogger<PrefixDirectoryWatcher> logger)
    {
        _directory = Path.GetFullPath(options.Value.ResolvedPrefixDirectory);
        _interval = options.Value.PrefixReloadInterval;
        _logger = logger;
    }

    public PrefixTable Table => _table;

    /// <summary>The error of the last reload attempt, or null when it succeeded.</summary>
    public string? LastError => _error;

    /// <summary>Counts successful loads (tests wait on it).</summary>
    public int Generation { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_directory);
        Reload(force: true);
        _debounce = new Timer(_ => Reload(force: true));
        _watcher = new FileSystemWatcher(_directory, "*" + PrefixFiles.Extension)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        _watcher.Changed += OnChanged;
        _watcher.Created += OnChanged;
        _watcher.Deleted += OnChanged;
        _watcher.Renamed += OnChanged;
        _watcher.EnableRaisingEvents = true;
        _periodic = new Timer(_ => Reload(force: false), null, _interval, _interval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce?.Dispose();
        _periodic?.Dispose();
    }

    /// <summary>Reloads now when the directory changed since the last load (or always with <paramref name="force"/>).</summary>
    public void Reload(bool force)
    {
        lock (_reloadLock)
        {
            var signature = Signature();
            if (!force && signature == _signature)
            {
                return;
            }

            _signature = signature;
            var (table, error) = PrefixFiles.Load(_directory);
            if (table is null)
            {
                _error = error;
                SteeringLog.PrefixesRejected(_logger, _directory, error!);
                return;
            }

            _table = table;
            _error = null;
            Generation++;
            SteeringLog.PrefixesLoaded(_logger, _directory, table.Sites.Count, table.Count);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["directory"] = _directory, ["prefixes"] = _table.Count, ["sites"] = _table.Sites.Count };
        var error = _error;
        return Task.FromResult(error is null
            ? HealthCheckResult.Healthy("prefix tables loaded", data)
            : HealthCheckResult.Degraded($"prefix tables not reloaded, previous table in use: {error}", data: data));
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => _debounce?.Change(Debounce, Timeout.InfiniteTimeSpan);

    private string Signature()
    {
        try
        {
            var files = new DirectoryInfo(_directory).EnumerateFiles("*" + PrefixFiles.Extension)
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}");
            return string.Join('|', files);
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }
}
