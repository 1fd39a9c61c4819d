using System.Collections.Concurrent;
using System.Globalization;

namespace OpenConnect.Appliance.Storage;

/// <summary>What <see cref="SsdStore.OpenAsync(SsdStoreOptions, ILogger{SsdStore}, TimeProvider, CancellationToken)"/> found and repaired.</summary>
/// <param name="Recovered">Objects listed by the index whose file is present with the right length.</param>
/// <param name="Reindexed">Object files the index did not know (or knew at another length), indexed from their headers.</param>
/// <param name="Dropped">Index entries without a usable file, plus object files with a bad header or length (deleted).</param>
/// <param name="PartFilesDeleted">Unfinished writes found in <c>tmp/</c>.</param>
/// <param name="IndexDiscarded">True when the index checkpoint could not be recovered and the index was rebuilt from the files.</param>
/// <param name="Elapsed">Wall time of the recovery.</param>
public sealed record SsdStoreRecoveryStats(int Recovered, int Reindexed, int Dropped, int PartFilesDeleted, bool IndexDiscarded, TimeSpan Elapsed);

public sealed partial class SsdStore
{
    /// <summary>
    /// Opens (creating if needed) the store in <see cref="SsdStoreOptions.Directory"/> and recovers it:
    /// <list type="number">
    /// <item>deletes unfinished writes (<c>tmp/*.part</c>);</item>
    /// <item>recovers the FASTER index from its latest checkpoint (none: empty; unrecoverable: discarded);</item>
    /// <item>reconciles it with the object files: entries whose file is missing are dropped; files the index
    /// lists at their length are kept; other files (written after the last checkpoint, or replaced by an
    /// object of another length) are re-indexed from their header if it is intact and agrees with the file's
    /// name and length, else deleted;</item>
    /// <item>marks everything it kept or re-indexed unverified (checked against its SHA-256 on first open);</item>
    /// <item>checkpoints the reconciled index, so the next open does not repeat the work.</item>
    /// </list>
    /// </summary>
    public static async Task<SsdStore> OpenAsync(SsdStoreOptions options, ILogger<SsdStore> logger, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();

        // Recovery is blocking file-system work (directory walks, header reads): keep it off the caller's thread.
        var store = await Task.Run(() => Recover(options, logger, timeProvider, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (store.Recovery.Reindexed > 0 || store.Recovery.Dropped > 0)
        {
            await store.CheckpointAsync(cancellationToken).ConfigureAwait(false);
        }

        return store;
    }

    private static SsdStore Recover(SsdStoreOptions options, ILogger<SsdStore> logger, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var root = options.Directory;
        var objectsDirectory = ObjectsDirectory(root);
        var tmpDirectory = TmpDirectory(root);
        Directory.CreateDirectory(objectsDirectory);
        Directory.CreateDirectory(tmpDirectory);

        var partFiles = 0;
        foreach (var file in Directory.EnumerateFiles(tmpDirectory))
        {
            File.Delete(file);
            partFiles++;
        }

        var index = SsdIndex.Open(IndexDirectory(root), options.CapacityBytes, out _, out var discarded, out var recoveryError);
        if (recoveryError is not null)
        {
            SsdStoreLog.IndexDiscarded(logger, recoveryError);
        }

        try
        {
            var indexed = index.ReadAll();
            var entries = new ConcurrentDictionary<ulong, IndexEntry>(Environment.ProcessorCount, Math.Max(31, indexed.Count));
            long usedBytes = 0;
            ulong lastSequence = 0;
            int recovered = 0, reindexed = 0, dropped = 0;
            var headerBuffer = new byte[ObjectHeader.Length];

            foreach (var (file, keyHash, length) in EnumerateObjectFiles(objectsDirectory))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (indexed.Remove(keyHash, out var known) && known.FileLength == length)
                {
                    entries[keyHash] = known.WithFlags(IndexEntryFlags.Unverified);
                    usedBytes += length;
                    lastSequence = Math.Max(lastSequence, known.Sequence);
                    recovered++;
                    continue;
                }

                if (TryReadHeader(file, headerBuffer, out var header) && header.KeyHash == keyHash && header.FileLength == length)
                {
                    var entry = header.ToIndexEntry(IndexEntryFlags.Unverified);
                    entries[keyHash] = entry;
                    index.Upsert(keyHash, entry);
                    usedBytes += length;
                    lastSequence = Math.Max(lastSequence, header.Sequence);
                    reindexed++;
                    continue;
                }

                // Torn (truncated), foreign or misplaced file: never servable.
                TryDelete(file, logger);
                if (known != default)
                {
                    index.Delete(keyHash);
                }

                dropped++;
            }

            // Whatever the index still lists has no file.
            foreach (var keyHash in indexed.Keys)
            {
                index.Delete(keyHash);
                dropped++;
            }

            var stats = new SsdStoreRecoveryStats(recovered, reindexed, dropped, partFiles, discarded, timeProvider.GetElapsedTime(started));
            SsdStoreLog.Opened(logger, root, recovered, reindexed, dropped, partFiles, (long)stats.Elapsed.TotalMilliseconds);
            return new SsdStore(options, logger, timeProvider, index, entries, usedBytes, lastSequence, stats);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every <c>objects/xx/yy/&lt;hash16&gt;.obj</c> with its key hash and length. Files that do not follow the
    /// naming (wrong fan-out directory, bad name) are reported with hash 0 and are deleted by the caller's
    /// header check failing; anything that is not a <c>.obj</c> file is left alone.
    /// </summary>
    private static IEnumerable<(string File, ulong KeyHash, long Length)> EnumerateObjectFiles(string objectsDirectory)
    {
        foreach (var first in new DirectoryInfo(objectsDirectory).EnumerateDirectories())
        {
            foreach (var second in first.EnumerateDirectories())
            {
                foreach (var file in second.EnumerateFiles("*.obj"))
                {
                    var keyHash = ParseKeyHash(file.Name, first.Name, second.Name);
                    yield return (file.FullName, keyHash, file.Length);
                }
            }
        }
    }

    private static ulong ParseKeyHash(string fileName, string first, string second)
    {
        // 16 lowercase hex digits + ".obj", in the directories named by its top two bytes.
        if (fileName.Length != 20
            || !ulong.TryParse(fileName.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var keyHash)
            || !string.Equals(FanOutName(keyHash >> 56), first, StringComparison.Ordinal)
            || !string.Equals(FanOutName((keyHash >> 48) & 0xff), second, StringComparison.Ordinal))
        {
            return 0;
        }

        return keyHash;
    }

    private static bool TryReadHeader(string file, byte[] buffer, out ObjectHeader header)
    {
        header = default;
        try
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read);
            var read = RandomAccess.Read(handle, buffer, 0);
            return ObjectHeader.TryRead(buffer.AsSpan(0, read), out header);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            return false;
        }
    }

    private static void TryDelete(string file, ILogger logger)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            SsdStoreLog.DeleteFailed(logger, file, ex);
        }
    }
}
