using System.Numerics;
using FASTER.core;

namespace OpenConnect.Appliance.Storage;

/// <summary>
/// The durable index: a FASTER key-value store (key hash → <see cref="IndexEntry"/>) over a local log device,
/// checkpointed by the owner. It is write-mostly: every commit and removal appends to it, and it is read
/// in full once, at recovery, to seed the in-memory map the serving path uses (see <see cref="SsdStore"/>).
/// </summary>
/// <remarks>
/// One FASTER session is shared by all writers under a lock: an upsert of a 48-byte value into the mutable
/// in-memory tail takes well under a microsecond, while the commit around it includes an fsync, so the lock
/// is never the bottleneck and one session avoids per-thread session bookkeeping. A second session belongs
/// to the checkpoint path (compaction), which the owner serialises.
/// </remarks>
internal sealed class SsdIndex : IDisposable
{
    /// <summary>Log pages of 64 KiB, 4 MiB of log kept in memory: only recent writes need to be in memory.</summary>
    private const int PageSizeBits = 16;
    private const int MemorySizeBits = 22;

    /// <summary>64 MiB log segments: the unit in which the on-disk log is truncated after compaction.</summary>
    private const int SegmentSizeBits = 26;

    /// <summary>Below this log size compaction is not worth it.</summary>
    private const long CompactionFloorBytes = 64L << 20;

    private readonly FasterKV<ulong, IndexEntry> _store;
    private readonly IDevice _device;
    private readonly ClientSession<ulong, IndexEntry, IndexEntry, IndexEntry, Empty, SimpleFunctions<ulong, IndexEntry>> _session;
    private readonly ClientSession<ulong, IndexEntry, IndexEntry, IndexEntry, Empty, SimpleFunctions<ulong, IndexEntry>> _maintenanceSession;
    private readonly Lock _sessionLock = new();
    private long _mutations;
    private bool _disposed;

    private SsdIndex(FasterKV<ulong, IndexEntry> store, IDevice device)
    {
        _store = store;
        _device = device;
        var functions = new SimpleFunctions<ulong, IndexEntry>();
        _session = store.For(functions).NewSession<SimpleFunctions<ulong, IndexEntry>>();
        _maintenanceSession = store.For(functions).NewSession<SimpleFunctions<ulong, IndexEntry>>();
    }

    /// <summary>Mutations since the last completed checkpoint.</summary>
    public long PendingMutations => Interlocked.Read(ref _mutations);

    /// <summary>Log bytes between begin and tail (live and dead records).</summary>
    public long LogBytes => _store.Log.TailAddress - _store.Log.BeginAddress;

    /// <summary>
    /// Opens the index under <paramref name="directory"/> and recovers it from its latest checkpoint. With no
    /// checkpoint the index starts empty. A checkpoint that cannot be recovered is discarded with the log
    /// (<paramref name="discarded"/> = true): the object files are the ground truth and recovery re-indexes
    /// them from their headers, so losing the index costs time, never objects.
    /// </summary>
    public static SsdIndex Open(string directory, long capacityBytes, out bool recovered, out bool discarded, out Exception? recoveryError)
    {
        recovered = false;
        discarded = false;
        recoveryError = null;
        var checkpointDirectory = Path.Combine(directory, "checkpoints");
        var index = Create(directory, checkpointDirectory, capacityBytes);
        if (!HasCheckpoint(checkpointDirectory))
        {
            return index;
        }

        try
        {
            index._store.Recover();
            recovered = true;
            return index;
        }
        catch (Exception ex)
        {
            // FASTER reports a missing or damaged checkpoint with a FasterException and damaged metadata
            // with assorted IO/format exceptions; any of them means this index cannot be trusted.
            recoveryError = ex;
            index.Dispose();
            Directory.Delete(directory, recursive: true);
            discarded = true;
            return Create(directory, checkpointDirectory, capacityBytes);
        }
    }

    private static SsdIndex Create(string directory, string checkpointDirectory, long capacityBytes)
    {
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(checkpointDirectory);

        // FASTER opens its files with FILE_FLAG_NO_BUFFERING (O_DIRECT on Linux) unless told otherwise, and
        // some file systems (tmpfs) refuse O_DIRECT. Its writes also use WriteThrough (O_SYNC), so durability
        // does not depend on O_DIRECT: use it where it works, the page cache where it does not.
        var direct = SupportsDirectIo(directory);
        var device = Devices.CreateLogDevice(Path.Combine(directory, "hlog.log"), recoverDevice: true, disableFileBuffering: direct);
        var checkpointManager = new DeviceLogCommitCheckpointManager(
            new LocalStorageNamedDeviceFactory(disableFileBuffering: direct),
            new DefaultCheckpointNamingScheme(checkpointDirectory),
            removeOutdated: true);
        var store = new FasterKV<ulong, IndexEntry>(
            HashTableBuckets(capacityBytes),
            new LogSettings
            {
                LogDevice = device,
                PageSizeBits = PageSizeBits,
                MemorySizeBits = MemorySizeBits,
                SegmentSizeBits = SegmentSizeBits,
            },
            new CheckpointSettings { CheckpointManager = checkpointManager });
        return new SsdIndex(store, device);
    }

    public void Upsert(ulong key, IndexEntry entry)
    {
        // Flags are a property of this process's view (Unverified); the durable record never carries them.
        var value = entry.WithFlags(IndexEntryFlags.None);
        lock (_sessionLock)
        {
            if (_disposed)
            {
                return;
            }

            var status = _session.Upsert(ref key, ref value);
            if (status.IsPending)
            {
                _session.CompletePending(wait: true);
            }

            _mutations++;
        }
    }

    public void Delete(ulong key)
    {
        lock (_sessionLock)
        {
            if (_disposed)
            {
                return;
            }

            var status = _session.Delete(ref key);
            if (status.IsPending)
            {
                _session.CompletePending(wait: true);
            }

            _mutations++;
        }
    }

    /// <summary>Every live record (latest version of each key, deletions applied).</summary>
    public Dictionary<ulong, IndexEntry> ReadAll()
    {
        var all = new Dictionary<ulong, IndexEntry>();
        lock (_sessionLock)
        {
            using var iterator = _session.Iterate();
            while (iterator.GetNext(out _, out var key, out var value))
            {
                all[key] = value;
            }
        }

        return all;
    }

    /// <summary>
    /// Compacts the log when dead records dominate it, then takes a full (index + fold-over log) checkpoint,
    /// which also truncates the compacted log on disk. Returns false when nothing changed since the last one.
    /// The caller serialises calls.
    /// </summary>
    public async Task<bool> CheckpointAsync(int liveRecords, CancellationToken cancellationToken)
    {
        var mutations = PendingMutations;
        if (mutations == 0 || _disposed)
        {
            return false;
        }

        CompactIfWorthIt(liveRecords);
        var (success, _) = await _store.TakeFullCheckpointAsync(CheckpointType.FoldOver, cancellationToken).ConfigureAwait(false);
        if (!success)
        {
            throw new InvalidOperationException("FASTER did not start the checkpoint (another state machine is running).");
        }

        Interlocked.Add(ref _mutations, -mutations);
        return true;
    }

    private void CompactIfWorthIt(int liveRecords)
    {
        // A fold-over checkpoint appends every update as a new record, so the log keeps dead versions of
        // replaced and removed objects. Compact once the log is 4x what the live records need: the scan
        // costs one pass over the log and happens at most once per checkpoint interval.
        var liveBytes = (long)liveRecords * _store.Log.FixedRecordSize;
        if (LogBytes < Math.Max(CompactionFloorBytes, 4 * liveBytes))
        {
            return;
        }

        var until = _store.Log.SafeReadOnlyAddress;
        if (until > _store.Log.BeginAddress)
        {
            _maintenanceSession.Compact(until, CompactionType.Scan);
            Interlocked.Increment(ref _mutations);
        }
    }

    public void Dispose()
    {
        lock (_sessionLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _session.Dispose();
        _maintenanceSession.Dispose();
        _store.Dispose();
        _device.Dispose();
    }

    private static bool HasCheckpoint(string checkpointDirectory) =>
        Directory.Exists(checkpointDirectory) && Directory.EnumerateFileSystemEntries(checkpointDirectory).Any();

    /// <summary>Hash table sized for the expected object count (assume 256 KiB objects, 4 per 7-slot bucket).</summary>
    private static long HashTableBuckets(long capacityBytes)
    {
        var objects = Math.Max(1, capacityBytes / (256 << 10));
        var buckets = (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1, objects / 4));
        return Math.Clamp(buckets, 1L << 10, 1L << 22);
    }

    private static bool SupportsDirectIo(string directory)
    {
        const FileOptions NoBuffering = (FileOptions)0x20000000;
        var probe = Path.Combine(directory, ".direct-io-probe");
        try
        {
            using (File.OpenHandle(probe, FileMode.Create, FileAccess.ReadWrite, FileShare.None, NoBuffering))
            {
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        finally
        {
            File.Delete(probe);
        }
    }
}
