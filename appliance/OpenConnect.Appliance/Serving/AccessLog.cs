using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The per-request access log (<c>Appliance:AccessLog</c>), off the hot path: a request hands its entry
/// to a bounded queue (<c>QueueLines</c>) and never waits; when the queue is full the line is dropped and
/// counted (<c>openconnect_appliance_access_log_dropped_total</c>). One background writer formats and
/// appends lines, flushing whenever the queue runs empty. SIGUSR1 (as for nginx) makes it reopen the file
/// before the next line, so logrotate can rename the file and signal. Off when <c>Path</c> is empty.
/// </summary>
public sealed class AccessLog : BackgroundService
{
    private const int SIGUSR1 = 10;
    private readonly AccessLogOptions _options;
    private readonly Channel<AccessEntry>? _queue;
    private readonly ApplianceMetrics _metrics;
    private PosixSignalRegistration? _signal;
    private int _reopen;

    public AccessLog(IOptions<ApplianceOptions> options, ApplianceMetrics metrics)
    {
        _options = options.Value.AccessLog;
        _metrics = metrics;
        if (_options.Enabled)
        {
            _queue = Channel.CreateBounded<AccessEntry>(new BoundedChannelOptions(_options.QueueLines)
            {
                // With Wait, TryWrite returns false on a full queue (never waits), so the drop is seen and
                // counted; DropWrite would drop silently and report success.
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
            });
        }
    }

    public bool Enabled => _queue is not null;

    /// <summary>Queues a line; never blocks. A full queue drops it (counted).</summary>
    public void Write(in AccessEntry entry)
    {
        if (_queue is not null && !_queue.Writer.TryWrite(entry))
        {
            _metrics.AccessLogDropped.Inc();
        }
    }

    /// <summary>Closes the file and opens it again (by name) before the next line; what SIGUSR1 does.</summary>
    public void Reopen() => Interlocked.Exchange(ref _reopen, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_queue is null)
        {
            return;
        }

        _signal = PosixSignalRegistration.Create((PosixSignal)SIGUSR1, context =>
        {
            context.Cancel = true;
            Reopen();
        });
        var json = _options.Format == AccessLogFormat.Json;
        var writer = Open();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                if (Interlocked.Exchange(ref _reopen, 0) == 1)
                {
                    await writer.DisposeAsync().ConfigureAwait(false);
                    writer = Open();
                }

                while (_queue.Reader.TryRead(out var entry))
                {
                    await writer.WriteLineAsync(json ? AccessLogFormat.FormatJson(entry) : AccessLogFormat.FormatCombined(entry)).ConfigureAwait(false);
                }

                await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: write what is queued.
            while (_queue.Reader.TryRead(out var entry))
            {
                await writer.WriteLineAsync(json ? AccessLogFormat.FormatJson(entry) : AccessLogFormat.FormatCombined(entry)).ConfigureAwait(false);
            }
        }
        finally
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private StreamWriter Open()
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_options.Path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        return new StreamWriter(new FileStream(_options.Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete), new System.Text.UTF8Encoding(false)) { AutoFlush = false };
    }

    public override void Dispose()
    {
        _signal?.Dispose();
        base.Dispose();
    }
}
