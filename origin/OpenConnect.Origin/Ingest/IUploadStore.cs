using System.Security.Cryptography;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Where upload records and bytes live, and the gate that admits one writer per upload.
/// <see cref="LocalUploadStore"/> (default) keeps both in files under the data directory with an
/// in-process gate; <see cref="Shared.SharedUploadStore"/> keeps records in PostgreSQL and bytes in
/// an S3 multipart upload, gated by a PostgreSQL advisory lock, so any origin instance can continue
/// an upload another one started.
/// </summary>
public interface IUploadStore
{
    /// <summary>Whether partial and final uploads (the concatenation extension) are supported.</summary>
    bool SupportsConcatenation { get; }

    /// <summary>
    /// The uploads this instance knows: every upload for the local store; for the shared store the
    /// uploads of all instances as of the last <see cref="RefreshAsync"/> plus those this instance
    /// touched since (what quotas and gauges count).
    /// </summary>
    IEnumerable<UploadEntry> Entries { get; }

    /// <summary>Reloads <see cref="Entries"/> from where the records live (a no-op for the local store).</summary>
    ValueTask RefreshAsync(CancellationToken cancellationToken);

    /// <summary>The upload with its current committed record, or null when there is none.</summary>
    ValueTask<UploadEntry?> FindAsync(string id, CancellationToken cancellationToken);

    /// <summary>Persists a new upload (with room for its bytes unless it is a final upload) and registers it.</summary>
    ValueTask<UploadEntry> CreateAsync(UploadRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="record"/> the upload's committed state. The caller holds the upload's
    /// lock. False when the upload's offset is no longer the one <paramref name="entry"/> holds
    /// (another instance moved it, or it was deleted): nothing was written, the entry was reloaded.
    /// With <paramref name="sync"/> the record survives a power loss too.
    /// </summary>
    ValueTask<bool> CommitAsync(UploadEntry entry, UploadRecord record, bool sync = true);

    /// <summary>Deletes the upload's bytes (expiry, rejection, concatenation), keeping its record.</summary>
    ValueTask DeleteBodyAsync(string id);

    /// <summary>Removes the upload entirely (termination, end of record retention).</summary>
    ValueTask DeleteAsync(string id);

    /// <summary>
    /// The upload's writer lock if it is free now, else null (the request gets 423). Once held, the
    /// entry holds the upload's latest committed record. Released by disposing it.
    /// </summary>
    ValueTask<IAsyncDisposable?> TryLockAsync(UploadEntry entry);

    /// <summary>The upload's writer lock, waiting for it; then as <see cref="TryLockAsync"/>.</summary>
    ValueTask<IAsyncDisposable> LockAsync(UploadEntry entry, CancellationToken cancellationToken);

    /// <summary>
    /// A writer appending after the committed offset; the caller holds the lock. When
    /// <paramref name="commitEachPart"/> gives the record for a new offset, a store that writes in
    /// parts commits each durable part on the way (so a crash keeps them); otherwise only the
    /// caller's <see cref="CommitAsync"/> after <see cref="IUploadBodyWriter.FinishAsync"/> does.
    /// </summary>
    ValueTask<IUploadBodyWriter> OpenWriterAsync(UploadEntry entry, Func<long, UploadRecord>? commitEachPart, CancellationToken cancellationToken);

    /// <summary>A local file holding the complete upload, for the pipeline intake (which moves it when it accepts).</summary>
    ValueTask<string> SourcePathAsync(UploadEntry entry, CancellationToken cancellationToken);

    /// <summary>Writes the bytes of <paramref name="parts"/>, in order, as the body of final upload <paramref name="finalId"/>; returns its length.</summary>
    ValueTask<long> AssembleAsync(string finalId, IReadOnlyList<UploadRecord> parts, CancellationToken cancellationToken);
}

/// <summary>Appends one request's bytes to an upload, after its committed offset.</summary>
public interface IUploadBodyWriter : IAsyncDisposable
{
    /// <summary>Appends <paramref name="data"/>; the caller may reuse its memory once the returned task completed.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data);

    /// <summary>Drops what this writer appended and was not committed; the committed offset stays.</summary>
    ValueTask DiscardAsync();

    /// <summary>
    /// Makes what was appended durable (<paramref name="sync"/>: also against a power loss), ready for
    /// the caller's commit; <paramref name="completes"/> says these are the upload's last bytes.
    /// </summary>
    ValueTask FinishAsync(bool sync, bool completes);
}

/// <summary>Upload ids: 32 lowercase hex digits (128 random bits), unguessable capabilities.</summary>
public static class UploadIds
{
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsValid(ReadOnlySpan<char> id)
    {
        if (id.Length != 32)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
