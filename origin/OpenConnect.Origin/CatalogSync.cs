using System.Threading.Channels;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Origin.Publishing;
using PipelineTitleRecord = OpenConnect.Origin.Pipeline.TitleRecord;
using PipelineTitles = OpenConnect.Origin.Pipeline.Jobs.JobStore;

namespace OpenConnect.Origin;

/// <summary>
/// Keeps the catalog's view of every title in step with the pipeline: each change of a pipeline
/// title (created, progress, state, renditions) is forwarded through <see cref="ICatalogTitles"/>,
/// which makes a published title searchable and notifies its channel's subscribers. A title taken
/// down (<see cref="TitleTakedowns"/>) is forwarded as <c>removed</c>, and again when its takedown changes. Changes are
/// queued and coalesced per title, so the pipeline never waits on the catalog. At start every
/// pipeline title is forwarded once, which repairs whatever a crash between the two databases left
/// behind (the upsert is idempotent). A store that fails (the job store or the catalog unreachable,
/// a PostgreSQL restart) never stops the origin: the title is forwarded again after a back-off
/// (1 s, doubling up to <see cref="MaxRetryDelay"/>) until it goes through, so the catalog catches up
/// once the store is back. Text from upload metadata loses its NUL characters and unpaired UTF-16
/// surrogates (<see cref="UserText.Clean"/>), which PostgreSQL cannot store, so one title's metadata
/// reaches both engines alike.
/// </summary>
public sealed partial class CatalogSync : BackgroundService
{
    private readonly PipelineTitles _pipeline;
    private readonly TitleTakedowns _takedowns;
    private readonly ICatalogTitles _catalog;
    private readonly AccountStore _accounts;
    private readonly ILogger<CatalogSync> _logger;
    private readonly Channel<string> _changed = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _pending = [];
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);

    /// <summary>The longest wait before a title whose forwarding failed is tried again.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    public CatalogSync(PipelineTitles pipeline, ICatalogTitles catalog, AccountStore accounts, TitleTakedowns takedowns, ILogger<CatalogSync> logger)
    {
        _takedowns = takedowns;
        _takedowns.Changed += Enqueue;
        _pipeline = pipeline;
        _catalog = catalog;
        _accounts = accounts;
        _logger = logger;
        _pipeline.Changed += Enqueue;
    }

    /// <summary>The metadata key ingest sets (from the uploader's bearer token) to the uploading user's id.</summary>
    public const string UploaderKey = "uploader_id";

    public override void Dispose()
    {
        _pipeline.Changed -= Enqueue;
        _takedowns.Changed -= Enqueue;
        base.Dispose();
    }

    private void Enqueue(string titleId)
    {
        lock (_pending)
        {
            if (!_pending.Add(titleId))
            {
                return;
            }
        }

        _changed.Writer.TryWrite(titleId);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await EnqueueEveryTitleAsync(stoppingToken).ConfigureAwait(false);
        await foreach (var id in _changed.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            lock (_pending)
            {
                _pending.Remove(id);
            }

            try
            {
                if (_pipeline.Get(id) is { } title)
                {
                    await _catalog.UpsertFromPipelineAsync(ToUpdate(title), stoppingToken).ConfigureAwait(false);
                }

                if (_failures.Remove(id))
                {
                    Log.SyncRecovered(_logger, id);
                }
            }
            catch (ArgumentException ex)
            {
                // The catalog refuses this update itself (an oversized field): trying again cannot help.
                _failures.Remove(id);
                Log.SyncRefused(_logger, id, ex.Message);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                var attempt = _failures[id] = _failures.GetValueOrDefault(id) + 1;
                var delay = RetryDelay(attempt);
                Log.SyncFailed(_logger, id, attempt, delay, ex);
                _ = RetryLaterAsync(id, delay, stoppingToken);
            }
        }
    }

    /// <summary>The wait before attempt <paramref name="failures"/> + 1: 1 s, doubling, at most <see cref="MaxRetryDelay"/>.</summary>
    public static TimeSpan RetryDelay(int failures) =>
        TimeSpan.FromSeconds(Math.Min(MaxRetryDelay.TotalSeconds, Math.Pow(2, Math.Min(failures - 1, 16))));

    /// <summary>Queues every pipeline title once, trying again after a back-off while the job store cannot list them.</summary>
    private async Task EnqueueEveryTitleAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                foreach (var title in _pipeline.List(int.MaxValue))
                {
                    Enqueue(title.Id);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var delay = RetryDelay(attempt);
                Log.ListFailed(_logger, delay, ex);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task RetryLaterAsync(string id, TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Enqueue(id);
    }

    private TitleUpdate ToUpdate(PipelineTitleRecord title)
    {
        var uploader = title.Metadata.GetValueOrDefault(UploaderKey);
        // A title an admin took down leaves lists and search (its row stays for its comments and history).
        var removed = _takedowns.IsTakenDown(title.Id);
        var published = title.State == Pipeline.TitleStates.Published && !removed;
        return new TitleUpdate
        {
            Id = title.Id,
            Status = removed ? TitleStatus.Removed : title.State,
            UploaderId = uploader,
            ChannelId = uploader is null ? null : _accounts.Get(uploader)?.ChannelId,
            Title = UserText.Clean(title.Metadata.GetValueOrDefault("title")) is { Length: > 0 } name ? name
                : UserText.Clean(title.Metadata.GetValueOrDefault("filename")) is { Length: > 0 } file ? file : title.Id,
            Description = UserText.Clean(title.Metadata.GetValueOrDefault("description")),
            Tags = UserText.Clean(title.Metadata.GetValueOrDefault("tags")) is { Length: > 0 } tags
                ? tags.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : null,
            FailureReason = title.Reason,
            DurationSeconds = title.Source?.DurationSeconds,
            Renditions = title.Renditions.Count == 0 ? null : [.. title.Renditions.Select(r => new RenditionInfo(r.Name, r.Width, r.Height, r.Codec, r.BitrateKbps * 1000L))],
            HlsManifestUrl = published ? $"/v/{title.Id}/master.m3u8" : null,
            DashManifestUrl = published ? $"/v/{title.Id}/manifest.mpd" : null,
            PosterUrl = published ? ParentEndpoint.PosterPath(title.Id) : null,
            StoryboardUrl = published ? $"/v/{title.Id}/storyboard.vtt" : null,
            CreatedAt = title.CreatedAt,
            PublishedAt = title.PublishedAt,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 60, Level = LogLevel.Error, Message = "Could not forward title {TitleId} to the catalog (attempt {Attempt}); trying again in {Delay}")]
        public static partial void SyncFailed(ILogger logger, string titleId, int attempt, TimeSpan delay, Exception exception);

        [LoggerMessage(EventId = 61, Level = LogLevel.Information, Message = "Title {TitleId} forwarded to the catalog after earlier failures")]
        public static partial void SyncRecovered(ILogger logger, string titleId);

        [LoggerMessage(EventId = 62, Level = LogLevel.Error, Message = "The catalog refused title {TitleId} (not retried): {Problem}")]
        public static partial void SyncRefused(ILogger logger, string titleId, string problem);

        [LoggerMessage(EventId = 63, Level = LogLevel.Error, Message = "Could not list the pipeline's titles to forward them to the catalog; trying again in {Delay}")]
        public static partial void ListFailed(ILogger logger, TimeSpan delay, Exception exception);
    }
}
