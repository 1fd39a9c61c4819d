using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The pipeline's side of the ingest boundary as a test double that keeps titles queued: it accepts
/// every file (moving it into <see cref="AcceptedDirectory"/>), keeps each title in the backlog until
/// the test finishes it, and answers <see cref="Usage"/> from what it holds, on the given clock, with
/// <see cref="SourceDuration"/> as every source's duration.
/// </summary>
public sealed class QueueingIntake : IPipelineIntake
{
    private readonly Lock _lock = new();
    private readonly List<Title> _titles = [];
    private readonly TimeProvider _time;

    public QueueingIntake(string acceptedDirectory, TimeProvider time)
    {
        AcceptedDirectory = acceptedDirectory;
        _time = time;
        Directory.CreateDirectory(acceptedDirectory);
    }

    private sealed record Title(string Id, string UploadId, string Uploader, DateTimeOffset CreatedAt, TimeSpan Duration)
    {
        public bool Queued { get; set; } = true;
    }

    public string AcceptedDirectory { get; }

    public TimeSpan SourceDuration { get; set; } = TimeSpan.FromMinutes(1);

    public int Backlog
    {
        get
        {
            lock (_lock)
            {
                return _titles.Count(t => t.Queued);
            }
        }
    }

    /// <summary>The upload ids handed over for <paramref name="uploader"/>, in order.</summary>
    public IReadOnlyList<string> SubmittedBy(string uploader)
    {
        lock (_lock)
        {
            return [.. _titles.Where(t => t.Uploader == uploader).Select(t => t.UploadId)];
        }
    }

    /// <summary>Takes the oldest queued title of <paramref name="uploader"/> out of the backlog, as the worker finishing it would.</summary>
    public void FinishOldest(string uploader)
    {
        lock (_lock)
        {
            _titles.First(t => t.Uploader == uploader && t.Queued).Queued = false;
        }
    }

    public Task<TitleSubmission> SubmitAsync(SourceUpload upload, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var earlier = _titles.FirstOrDefault(t => t.UploadId == upload.UploadId);
            if (earlier is null)
            {
                File.Move(upload.SourcePath, Path.Combine(AcceptedDirectory, upload.UploadId));
                earlier = new Title("t-" + upload.UploadId[..8], upload.UploadId, upload.Metadata.GetValueOrDefault(CatalogSync.UploaderKey, ""), _time.GetUtcNow(), SourceDuration);
                _titles.Add(earlier);
            }

            return Task.FromResult(new TitleSubmission(earlier.Id, "queued", null));
        }
    }

    public UploaderUsage Usage(string uploaderId, DateTimeOffset since)
    {
        lock (_lock)
        {
            var mine = _titles.Where(t => t.Uploader == uploaderId).ToList();
            var recent = mine.Where(t => t.CreatedAt >= since).ToList();
            return new UploaderUsage(
                mine.Count(t => t.Queued),
                recent.Count,
                recent.Count == 0 ? null : recent.Min(t => t.CreatedAt),
                TimeSpan.FromTicks(recent.Sum(t => t.Duration.Ticks)));
        }
    }
}
