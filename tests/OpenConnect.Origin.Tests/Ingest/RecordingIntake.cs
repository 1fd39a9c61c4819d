using System.Collections.Concurrent;
using System.Security.Cryptography;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The pipeline's side of the ingest boundary, as a test double: records each submission with the
/// SHA-256 of the file it was handed, and, like the pipeline, moves an accepted file away (here into
/// <see cref="AcceptedDirectory"/>) and leaves a rejected one where it was.
/// </summary>
public sealed class RecordingIntake : IPipelineIntake
{
    private readonly ConcurrentQueue<Submission> _submissions = new();
    private readonly ConcurrentDictionary<string, TitleSubmission> _results = new();
    private int _backlog;

    public RecordingIntake(string acceptedDirectory)
    {
        AcceptedDirectory = acceptedDirectory;
        Directory.CreateDirectory(acceptedDirectory);
    }

    public sealed record Submission(string UploadId, string Sha256, long Length, IReadOnlyDictionary<string, string> Metadata);

    public string AcceptedDirectory { get; }

    public int Backlog
    {
        get => Volatile.Read(ref _backlog);
        set => Volatile.Write(ref _backlog, value);
    }

    /// <summary>When set, every submission is rejected with this reason.</summary>
    public string? RejectWith { get; set; }

    public IReadOnlyList<Submission> Submissions => [.. _submissions];

    /// <summary>Keeps no titles per uploader: the tests using it upload without tokens, where no per-uploader quota applies.</summary>
    public UploaderUsage Usage(string uploaderId, DateTimeOffset since) => UploaderUsage.None;

    public Task<TitleSubmission> SubmitAsync(SourceUpload upload, CancellationToken cancellationToken)
    {
        if (_results.TryGetValue(upload.UploadId, out var earlier))
        {
            return Task.FromResult(earlier);
        }

        byte[] bytes = File.ReadAllBytes(upload.SourcePath);
        _submissions.Enqueue(new Submission(upload.UploadId, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length, upload.Metadata));
        TitleSubmission result;
        if (RejectWith is { } reason)
        {
            result = new TitleSubmission("t-" + upload.UploadId[..8], "rejected", reason);
        }
        else
        {
            File.Move(upload.SourcePath, Path.Combine(AcceptedDirectory, upload.UploadId));
            result = new TitleSubmission("t-" + upload.UploadId[..8], "queued", null);
        }

        _results[upload.UploadId] = result;
        return Task.FromResult(result);
    }
}
