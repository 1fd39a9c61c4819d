using System.Globalization;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// Moves what chunk jobs read and write through the object store's work prefix when published
/// titles live in an S3-compatible bucket (<c>Origin:Storage:Kind=S3</c>), so a worker on another
/// host needs only PostgreSQL and the bucket, no data directory shared with the coordinator:
/// <list type="bullet">
/// <item>the coordinator puts the title's source once, <c>work/{title}/source</c>, before it queues the chunks;</item>
/// <item>a worker gets it into <c>{its DataDirectory}/work-cache/{title}/</c> the first time it claims one of the
/// title's chunks (and reuses it for the others), encodes, and puts each rung's output under
/// <c>work/{title}/chunks/{chunk}-{claim}/</c> before it completes the job;</item>
/// <item>the coordinator gets the outputs of the claim the job records done, and deletes
/// <c>work/{title}/</c> when the title is published or failed.</item>
/// </list>
/// On the local store (<see cref="IsRemote"/> false) nothing moves: coordinator and workers share the
/// data directory, as before. Whether a job goes through the bucket is written in its spec
/// (<see cref="ChunkJobSpec.SourceObject"/>), so coordinator and worker always agree.
/// </summary>
public sealed partial class ChunkTransfer(IWorkObjectStore? objects, PipelinePaths paths, JobStore store, PipelineMetrics metrics, ILogger<ChunkTransfer> logger) : IDisposable
{
    private readonly Lock _downloading = new();
    private readonly Dictionary<string, Task<string>> _downloads = new(StringComparer.Ordinal);

    /// <summary>Whether chunk inputs and outputs go through the object store.</summary>
    public bool IsRemote => objects is not null;

    /// <summary>Disposed with this (a worker process's own client for the bucket); null when the host owns the store.</summary>
    internal IDisposable? Owned { get; init; }

    /// <summary>The title's work objects.</summary>
    public static string TitlePrefix(string titleId) => titleId + "/";

    /// <summary>The title's source in the work prefix.</summary>
    public static string SourceKey(string titleId) => titleId + "/source";

    /// <summary>Where one claim of a job puts its outputs.</summary>
    public static string OutputPrefix(ChunkJobSpec spec, string claimToken) =>
        string.Create(CultureInfo.InvariantCulture, $"{spec.TitleId}/chunks/{spec.Chunk.Index:d5}-{claimToken}/");

    /// <summary>A rung's output object under an output prefix.</summary>
    public static string OutputKey(string outputPrefix, Rung rung) => outputPrefix + rung.Name + ".mp4";

    /// <summary>The directory a worker keeps a title's downloaded source in.</summary>
    public string CacheDirectory(string titleId) => Path.Combine(paths.DataDirectory, "work-cache", titleId);

    /// <summary>Coordinator: puts the title's source where workers get it; returns its key.</summary>
    public async Task<string> StageSourceAsync(string titleId, string sourceFile, CancellationToken cancellationToken)
    {
        var key = SourceKey(titleId);
        var bytes = await Objects.PutFileAsync(key, sourceFile, cancellationToken);
        metrics.WorkObjectBytes.WithLabels("put", "source").Inc(bytes);
        Log.SourceStaged(logger, titleId, bytes);
        return key;
    }

    /// <summary>
    /// Worker: the local path of the job's source. A source the data directory holds already (a worker
    /// beside its coordinator) is used where it is; otherwise it is downloaded once per title and
    /// process into <see cref="CacheDirectory"/> (slots that want it meanwhile wait for the same download).
    /// </summary>
    public async Task<string> SourceForAsync(ChunkJobSpec spec, CancellationToken cancellationToken)
    {
        var shared = Path.Combine(paths.DataDirectory, spec.Source);
        if (spec.SourceObject is null || File.Exists(shared))
        {
            return shared;
        }

        var cached = Path.Combine(CacheDirectory(spec.TitleId), Path.GetFileName(spec.Source));
        if (File.Exists(cached))
        {
            return cached;
        }

        Task<string> download;
        lock (_downloading)
        {
            if (_downloads.TryGetValue(spec.TitleId, out var running) && !running.IsFaulted && !running.IsCanceled)
            {
                download = running;
            }
            else
            {
                download = DownloadSourceAsync(spec.TitleId, spec.SourceObject, cached);
                _downloads[spec.TitleId] = download;
            }
        }

        try
        {
            return await download.WaitAsync(cancellationToken);
        }
        finally
        {
            lock (_downloading)
            {
                if (download.IsCompleted && _downloads.TryGetValue(spec.TitleId, out var current) && current == download)
                {
                    _downloads.Remove(spec.TitleId);
                }
            }
        }
    }

    // Not tied to one job's cancellation: other slots may be waiting for the same file.
    private async Task<string> DownloadSourceAsync(string titleId, string key, string cached)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        var bytes = await Objects.GetFileAsync(key, cached, CancellationToken.None)
            ?? throw new FileNotFoundException($"the title's source is missing from the object store's work prefix ({key})");
        metrics.WorkObjectBytes.WithLabels("get", "source").Inc(bytes);
        Log.SourceFetched(logger, titleId, bytes);
        return cached;
    }

    /// <summary>Worker: puts a claim's encoded outputs (its local output directory) under the claim's output prefix; returns the prefix.</summary>
    public async Task<string> PutOutputsAsync(ChunkJobSpec spec, string claimToken, string localOutputDirectory, CancellationToken cancellationToken)
    {
        var prefix = OutputPrefix(spec, claimToken);
        var directory = Path.Combine(paths.DataDirectory, localOutputDirectory);
        foreach (var rung in spec.Rungs)
        {
            var bytes = await Objects.PutFileAsync(OutputKey(prefix, rung), ChunkJobSpec.OutputFile(directory, rung), cancellationToken);
            metrics.WorkObjectBytes.WithLabels("put", "chunk").Inc(bytes);
        }

        return prefix;
    }

    /// <summary>Coordinator: gets a done job's outputs to <paramref name="target"/>(rung); false when some are missing from the bucket.</summary>
    public async Task<bool> GetOutputsAsync(ChunkJobSpec spec, string outputPrefix, Func<Rung, string> target, CancellationToken cancellationToken)
    {
        foreach (var rung in spec.Rungs)
        {
            var to = target(rung);
            if (File.Exists(to))
            {
                continue; // fetched before a restart
            }

            var bytes = await Objects.GetFileAsync(OutputKey(outputPrefix, rung), to, cancellationToken);
            if (bytes is null)
            {
                return false;
            }

            metrics.WorkObjectBytes.WithLabels("get", "chunk").Inc(bytes.Value);
        }

        return true;
    }

    /// <summary>Deletes one claim's outputs (the claim was lost: another claim's are the chunk's). Best effort: the title's end deletes them anyway.</summary>
    public async Task DiscardOutputsAsync(string outputPrefix)
    {
        try
        {
            await Objects.DeletePrefixAsync(outputPrefix, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.DeleteFailed(logger, outputPrefix, ex.Message);
        }
    }

    /// <summary>Coordinator: deletes the title's work objects (it was published or failed). Best effort, logged.</summary>
    public async Task DeleteTitleAsync(string titleId)
    {
        if (objects is null)
        {
            return;
        }

        try
        {
            await objects.DeletePrefixAsync(TitlePrefix(titleId), CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.DeleteFailed(logger, TitlePrefix(titleId), ex.Message);
        }
    }

    /// <summary>
    /// Worker: deletes the cached sources of titles that have no chunk job queued or running any more
    /// (published, failed, or every chunk done). Called at start and after each job.
    /// </summary>
    public void EvictFinished()
    {
        var root = Path.Combine(paths.DataDirectory, "work-cache");
        if (!Directory.Exists(root))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(root))
        {
            var titleId = Path.GetFileName(directory);
            if (!store.HasPendingChunks(titleId))
            {
                Directory.Delete(directory, recursive: true);
                Log.SourceEvicted(logger, titleId);
            }
        }
    }

    public void Dispose() => Owned?.Dispose();

    private IWorkObjectStore Objects => objects
        ?? throw new InvalidOperationException("this chunk job moves its source and outputs through the object store, and this process has none: set Origin:Storage:Kind=S3 and Origin:Storage:S3 as on the coordinator");

    private static partial class Log
    {
        [LoggerMessage(EventId = 3211, Level = LogLevel.Information, Message = "Title {TitleId}: source put in the object store's work prefix for workers ({Bytes} bytes)")]
        public static partial void SourceStaged(ILogger logger, string titleId, long bytes);

        [LoggerMessage(EventId = 3212, Level = LogLevel.Information, Message = "Title {TitleId}: source fetched from the object store's work prefix ({Bytes} bytes)")]
        public static partial void SourceFetched(ILogger logger, string titleId, long bytes);

        [LoggerMessage(EventId = 3213, Level = LogLevel.Debug, Message = "Title {TitleId}: cached source deleted (no chunk of it is left to encode)")]
        public static partial void SourceEvicted(ILogger logger, string titleId);

        [LoggerMessage(EventId = 3214, Level = LogLevel.Warning, Message = "Deleting work objects under {Prefix} failed (the title's end deletes them): {Error}")]
        public static partial void DeleteFailed(ILogger logger, string prefix, string error);
    }
}
