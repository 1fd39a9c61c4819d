using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace OpenConnect.Appliance.Storage;

/// <summary>
/// The appliance's SSD tier: durable, crash-safe storage of object bodies, each servable with zero copies.
/// </summary>
/// <remarks>
/// <para>
/// <b>One file per object</b> (<c>objects/xx/yy/&lt;hash16&gt;.obj</c>: a 4 KiB <see cref="ObjectHeader"/>, then the
/// body). Per-object files rather than large region files let the file system be the allocator (no free-space
/// map, no fragmentation bookkeeping of our own), make eviction an unlink, and keep <c>sendfile(2)</c> trivial:
/// the body is one contiguous range of one file at offset 4096. Open handles survive eviction and replacement,
/// so no read/evict coordination is needed. The two fan-out levels (256 × 256 directories, from the top bytes
/// of the key hash) keep directories small at millions of objects.
/// </para>
/// <para>
/// <b>Writes</b> go to <c>tmp/&lt;random&gt;.part</c>, are fsynced, renamed into place, then indexed. A crash at any
/// point leaves either no file, a part file (deleted at the next open) or a complete file the index may not
/// know yet (re-indexed from its header at the next open).
/// </para>
/// <para>
/// <b>Two indexes.</b> FASTER (<see cref="SsdIndex"/>) is the durable record, checkpointed periodically. Serving
/// looks objects up in an in-memory <see cref="ConcurrentDictionary{TKey, TValue}"/> seeded from FASTER at open.
/// FASTER reads of in-memory records are fast too, but serving straight from it needs a session per thread (or
/// a pool), epoch protection around every lookup and pending-I/O handling once records age out of its memory
/// budget; the map is lock-free for readers and lets FASTER run with a 4 MiB memory budget as a write-mostly
/// log. Both hold only the 48-byte <see cref="IndexEntry"/>; content type, ETag and the key string stay in the
/// file header, which serving reads anyway (one 4 KiB pread of a page the open has just warmed), so memory per
/// object stays small at millions of objects.
/// </para>
/// <para>
/// <b>Trust.</b> Objects written by this process are trusted. Objects found at open are <i>unverified</i>: the first
/// open for serving reads the body and checks its SHA-256 against the header, so a torn or corrupted object is
/// dropped (and counted) instead of served.
/// </para>
/// <para>
/// The store does not evict: the cache calls <see cref="Remove"/> when its policy decides, comparing
/// <see cref="UsedBytes"/> with <see cref="SsdStoreOptions.CapacityBytes"/>. Two keys with the same 64-bit hash share
/// a file; the key stored in the header tells them apart (the other one is a miss).
/// </para>
/// </remarks>
public sealed partial class SsdStore : IAsyncDisposable
{
    /// <summary>Consecutive failed writes after which <see cref="IsHealthy"/> turns false.</summary>
    public const int UnhealthyAfterFailures = 3;

    private const int StripeCount = 64;
    private const int VerifyBufferSize = 256 << 10;

    private readonly SsdStoreOptions _options;
    private readonly ILogger<SsdStore> _logger;
    private readonly TimeProvider _timeProvider;
    private readonly string _objectsDirectory;
    private readonly string _tmpDirectory;
    private readonly SsdIndex _index;
    private readonly ConcurrentDictionary<ulong, IndexEntry> _entries;
    private readonly Lock[] _stripes = new Lock[StripeCount];
    private readonly bool[] _fanOutCreated = new bool[256 * 256];
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    private readonly ITimer? _checkpointTimer;
    private long _usedBytes;
    private long _sequence;
    private int _consecutiveWriteFailures;
    private long _writeFailures;
    private long _integrityRejects;
    private long _corruptObjectsDropped;
    private long _checkpointFailures;
    private volatile bool _disposed;

    private SsdStore(SsdStoreOptions options, ILogger<SsdStore> logger, TimeProvider timeProvider, SsdIndex index, ConcurrentDictionary<ulong, IndexEntry> entries, long usedBytes, ulong lastSequence, SsdStoreRecoveryStats recovery)
    {
        _options = options;
        _logger = logger;
        _timeProvider = timeProvider;
        _objectsDirectory = ObjectsDirectory(options.Directory);
        _tmpDirectory = TmpDirectory(options.Directory);
        _index = index;
        _entries = entries;
        _usedBytes = usedBytes;
        _sequence = (long)lastSequence;
        Recovery = recovery;
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Lock();
        }

        if (options.CheckpointTimerEnabled)
        {
            _checkpointTimer = timeProvider.CreateTimer(static state => ((SsdStore)state!).OnCheckpointTimer(), this, options.CheckpointInterval, options.CheckpointInterval);
        }
    }

    /// <summary>What the open found and repaired.</summary>
    public SsdStoreRecoveryStats Recovery { get; }

    /// <summary>Bytes of object files (headers and bodies) in the store.</summary>
    public long UsedBytes => Interlocked.Read(ref _usedBytes);

    public long CapacityBytes => _options.CapacityBytes;

    public int Count => _entries.Count;

    /// <summary>Every stored object and its file length (what <see cref="Remove"/> would free), for re-seeding an eviction policy.</summary>
    public IEnumerable<(ulong Key, long Length)> Entries
    {
        get
        {
            foreach (var (key, entry) in _entries)
            {
                yield return (key, entry.FileLength);
            }
        }
    }

    /// <summary>
    /// False after <see cref="UnhealthyAfterFailures"/> consecutive failed writes (disk full, I/O errors, unusable
    /// directory); true again after the next successful write. The cache passes through while it is false.
    /// </summary>
    public bool IsHealthy => Volatile.Read(ref _consecutiveWriteFailures) < UnhealthyAfterFailures;

    /// <summary>Writes that failed on a storage error.</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    /// <summary>Writes refused at commit because the length or SHA-256 did not match what was expected.</summary>
    public long IntegrityRejects => Interlocked.Read(ref _integrityRejects);

    /// <summary>Objects found corrupt (bad header, body hash mismatch, unreadable) when opened, and dropped.</summary>
    public long CorruptObjectsDropped => Interlocked.Read(ref _corruptObjectsDropped);

    public long CheckpointFailures => Interlocked.Read(ref _checkpointFailures);

    /// <summary>Whether the index holds <paramref name="keyHash"/> (no file access).</summary>
    public bool Contains(ulong keyHash) => _entries.ContainsKey(keyHash);

    /// <summary>The body length the index holds for <paramref name="keyHash"/> (no file access); false when it holds none.</summary>
    public bool TryGetBodyLength(ulong keyHash, out long bodyLength)
    {
        var found = _entries.TryGetValue(keyHash, out var entry);
        bodyLength = entry.BodyLength;
        return found;
    }

    /// <summary>
    /// Whether the index holds <paramref name="keyHash"/> with this body: the same length and SHA-256 (the index
    /// keeps the hash's first 16 bytes, enough to tell versions apart). No file access.
    /// </summary>
    public bool HoldsBody(ulong keyHash, long bodyLength, ReadOnlySpan<byte> sha256) =>
        _entries.TryGetValue(keyHash, out var entry)
        && entry.BodyLength == bodyLength
        && entry.Sha256Prefix0 == BinaryPrimitives.ReadUInt64LittleEndian(sha256)
        && entry.Sha256Prefix1 == BinaryPrimitives.ReadUInt64LittleEndian(sha256[8..]);

    /// <summary>
    /// Looks up and opens an object for serving, verifying it first if it was recovered from disk (synchronous:
    /// prefer <see cref="OpenAsync(ulong, string, CancellationToken)"/> on request paths, where a large
    /// verification should not hold a thread).
    /// </summary>
    public bool TryOpen(ulong keyHash, string path, [NotNullWhen(true)] out StoredObject? obj)
    {
        obj = null;
        if (!TryOpenFile(keyHash, path, out var entry, out var handle, out var header))
        {
            return false;
        }

        if (entry.IsUnverified && !VerifyAndMark(keyHash, entry, handle, header, VerifyBody(handle, header)))
        {
            return false;
        }

        obj = new StoredObject(handle, header);
        return true;
    }

    /// <summary>
    /// The content path recorded in a stored object's header (the index holds only key hashes); null
    /// when the object is gone or its header is unreadable. Used to report inventory after a restart.
    /// </summary>
    public string? ReadPath(ulong keyHash)
    {
        if (!_entries.ContainsKey(keyHash))
        {
            return null;
        }

        try
        {
            using var handle = File.OpenHandle(ObjectFile(keyHash), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.None);
            Span<byte> buffer = stackalloc byte[ObjectHeader.Length];
            var read = RandomAccess.Read(handle, buffer, 0);
            return ObjectHeader.TryRead(buffer[..read], out var header) && header.KeyHash == keyHash ? header.Path : null;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException || IsStorageFailure(ex))
        {
            return null;
        }
    }

    /// <summary>Looks up and opens an object for serving; null on a miss. See <see cref="TryOpen"/>.</summary>
    public async ValueTask<StoredObject?> OpenAsync(ulong keyHash, string path, CancellationToken cancellationToken = default)
    {
        if (!TryOpenFile(keyHash, path, out var entry, out var handle, out var header))
        {
            return null;
        }

        if (entry.IsUnverified)
        {
            bool intact;
            try
            {
                // Reads on this (synchronous) handle would run on the thread pool anyway; one hop for the whole body.
                var verifying = header;
                intact = await Task.Run(() => VerifyBody(handle, verifying), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                handle.Dispose();
                throw;
            }

            if (!VerifyAndMark(keyHash, entry, handle, header, intact))
            {
                return null;
            }
        }

        return new StoredObject(handle, header);
    }

    /// <summary>
    /// Starts storing an object. <paramref name="expectedLength"/> is the announced body length (negative when
    /// unknown); a body of another length is not committed. Never throws on storage errors: the writer then
    /// commits to false. Throws <see cref="ArgumentException"/> when the strings do not fit the header.
    /// </summary>
    public ObjectWriter BeginWrite(ulong keyHash, string path, long expectedLength, string contentType, string etag, DateTimeOffset lastModified) =>
        BeginWrite(keyHash, path, expectedLength, contentType, etag, lastModified, bodySha256: null);

    /// <summary>
    /// As <see cref="BeginWrite(ulong, string, long, string, string, DateTimeOffset)"/>, for a body whose SHA-256
    /// the caller has already computed and checked (fill checks every object against the origin's integrity
    /// manifest): the writer does not hash the body again, and the header carries <paramref name="bodySha256"/>,
    /// which recovery verifies the body against after a restart. Null: the writer hashes the body.
    /// </summary>
    public ObjectWriter BeginWrite(ulong keyHash, string path, long expectedLength, string contentType, string etag, DateTimeOffset lastModified, byte[]? bodySha256)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bodySha256 is not null && bodySha256.Length != ObjectHeader.Sha256Length)
        {
            throw new ArgumentException($"A SHA-256 is {ObjectHeader.Sha256Length} bytes, not {bodySha256.Length}.", nameof(bodySha256));
        }

        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(contentType);
        ArgumentNullException.ThrowIfNull(etag);
        if (!ObjectHeader.Fits(path, contentType, etag))
        {
            throw new ArgumentException($"Path, content type or ETag of '{path}' is too long for the object header.", nameof(path));
        }

        return new ObjectWriter(this, keyHash, path, expectedLength, contentType, etag, lastModified, bodySha256);
    }

    /// <summary>Deletes an object (file and index entry). Responses already holding its handle finish normally.</summary>
    public bool Remove(ulong keyHash)
    {
        lock (Stripe(keyHash))
        {
            if (!_entries.TryRemove(keyHash, out var entry))
            {
                return false;
            }

            Interlocked.Add(ref _usedBytes, -entry.FileLength);
            DeleteObjectFile(keyHash);
            _index.Delete(keyHash);
            return true;
        }
    }

    /// <summary>Checkpoints the durable index now if anything changed since the last checkpoint.</summary>
    public async Task<bool> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        await _checkpointGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CheckpointCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    /// <summary>Stops the checkpoint timer, takes a final checkpoint and closes the index.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_checkpointTimer is not null)
        {
            await _checkpointTimer.DisposeAsync().ConfigureAwait(false);
        }

        await _checkpointGate.WaitAsync().ConfigureAwait(false);
        try
        {
            await CheckpointCoreAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _index.Dispose();
            _checkpointGate.Release();
        }
    }

    internal static bool IsStorageFailure(Exception ex) => ex is IOException or UnauthorizedAccessException;

    internal ulong NextSequence() => (ulong)Interlocked.Increment(ref _sequence);

    internal (string PartFile, SafeFileHandle Handle) CreatePartFile()
    {
        var partFile = Path.Combine(_tmpDirectory, string.Concat(Guid.NewGuid().ToString("N"), ".part"));

        // No preallocation (fallocate) of the announced length: it would surface a full disk before the first
        // byte, but on the ext4 test machine it made each 16 KiB commit ~2 ms slower (4.9 vs 2.9 ms and
        // 7.0 vs 4.7 ms per object, alternating runs), and ENOSPC during the streamed write is handled anyway.
        var handle = File.OpenHandle(partFile, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None);
        return (partFile, handle);
    }

    internal void DeletePartFile(string partFile)
    {
        try
        {
            File.Delete(partFile);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            // Left for the next open, which empties tmp/.
            SsdStoreLog.DeleteFailed(_logger, partFile, ex);
        }
    }

    /// <summary>Renames a synced part file into place and indexes it; the rename and the index update are atomic per key.</summary>
    internal void Publish(ulong keyHash, string partFile, in ObjectHeader header)
    {
        var entry = header.ToIndexEntry(IndexEntryFlags.None);
        var target = ObjectFile(keyHash);
        lock (Stripe(keyHash))
        {
            EnsureFanOutDirectory(keyHash, target);
            try
            {
                File.Move(partFile, target, overwrite: true);
            }
            catch (DirectoryNotFoundException)
            {
                // The fan-out directory vanished under us (someone cleaned the cache directory): recreate once.
                _fanOutCreated[FanOutIndex(keyHash)] = false;
                EnsureFanOutDirectory(keyHash, target);
                File.Move(partFile, target, overwrite: true);
            }

            var added = entry.FileLength;
            _entries.AddOrUpdate(keyHash, entry, (_, old) =>
            {
                added -= old.FileLength;
                return entry;
            });
            Interlocked.Add(ref _usedBytes, added);
            _index.Upsert(keyHash, entry);
        }
    }

    internal void RecordWriteSuccess()
    {
        if (Interlocked.Exchange(ref _consecutiveWriteFailures, 0) >= UnhealthyAfterFailures)
        {
            SsdStoreLog.HealthyAgain(_logger);
        }
    }

    internal void RecordWriteFailure(string path, Exception ex)
    {
        Interlocked.Increment(ref _writeFailures);
        var failures = Interlocked.Increment(ref _consecutiveWriteFailures);
        SsdStoreLog.WriteFailed(_logger, path, failures, ex);
        if (failures == UnhealthyAfterFailures)
        {
            SsdStoreLog.Unhealthy(_logger, failures);
        }
    }

    internal void RecordIntegrityReject() => Interlocked.Increment(ref _integrityRejects);

    internal static string ObjectsDirectory(string root) => Path.Combine(root, "objects");

    internal static string TmpDirectory(string root) => Path.Combine(root, "tmp");

    internal static string IndexDirectory(string root) => Path.Combine(root, "index");

    internal static string ObjectFile(string objectsDirectory, ulong keyHash) =>
        Path.Combine(objectsDirectory, FanOutName(keyHash >> 56), FanOutName((keyHash >> 48) & 0xff), string.Concat(keyHash.ToString("x16"), ".obj"));

    private string ObjectFile(ulong keyHash) => ObjectFile(_objectsDirectory, keyHash);

    private static string FanOutName(ulong value) => value.ToString("x2");

    private static int FanOutIndex(ulong keyHash) => (int)(keyHash >> 48);

    private Lock Stripe(ulong keyHash) => _stripes[(int)(keyHash % StripeCount)];

    private void EnsureFanOutDirectory(ulong keyHash, string target)
    {
        var slot = FanOutIndex(keyHash);
        if (!_fanOutCreated[slot])
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            _fanOutCreated[slot] = true;
        }
    }

    /// <summary>Index lookup, open, header read and checks shared by the sync and async open paths.</summary>
    private bool TryOpenFile(ulong keyHash, string path, out IndexEntry entry, [NotNullWhen(true)] out SafeFileHandle? handle, out ObjectHeader header)
    {
        handle = null;
        header = default;
        if (!_entries.TryGetValue(keyHash, out entry))
        {
            return false;
        }

        try
        {
            handle = File.OpenHandle(ObjectFile(keyHash), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.None);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            Drop(keyHash, entry, "file missing", corrupt: false);
            return false;
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            SsdStoreLog.ReadFailed(_logger, keyHash, ex);
            return false;
        }

        try
        {
            Span<byte> buffer = stackalloc byte[ObjectHeader.Length];
            var read = RandomAccess.Read(handle, buffer, 0);
            if (!ObjectHeader.TryRead(buffer[..read], out header)
                || header.KeyHash != keyHash
                || RandomAccess.GetLength(handle) != header.FileLength)
            {
                handle.Dispose();
                Drop(keyHash, entry, "bad header or length", corrupt: true);
                return false;
            }
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            handle.Dispose();
            Drop(keyHash, entry, "header unreadable", corrupt: true);
            return false;
        }

        if (!KeyEquals(header.Path, path))
        {
            // Another key with the same 64-bit hash: a miss for this one.
            handle.Dispose();
            return false;
        }

        return true;
    }

    private static bool KeyEquals(string stored, string requested) => string.Equals(stored, requested, StringComparison.Ordinal);

    /// <summary>Marks a verified object trusted, or drops a corrupt one. Returns whether it may be served.</summary>
    private bool VerifyAndMark(ulong keyHash, IndexEntry entry, SafeFileHandle handle, in ObjectHeader header, bool intact)
    {
        if (!intact)
        {
            handle.Dispose();
            Drop(keyHash, entry, "body does not match its SHA-256", corrupt: true);
            return false;
        }

        // The header is the authority (the file may have been replaced after the last checkpoint by another
        // object of the same length); adopt it, unless a write or removal got in first.
        var verified = header.ToIndexEntry(IndexEntryFlags.None);
        lock (Stripe(keyHash))
        {
            if (_entries.TryUpdate(keyHash, verified, entry) && verified.FileLength != entry.FileLength)
            {
                Interlocked.Add(ref _usedBytes, verified.FileLength - entry.FileLength);
            }
        }

        return true;
    }

    /// <summary>Removes an entry that no longer matches its file, unless a newer write replaced it meanwhile.</summary>
    private void Drop(ulong keyHash, IndexEntry seen, string reason, bool corrupt)
    {
        lock (Stripe(keyHash))
        {
            if (!_entries.TryGetValue(keyHash, out var current) || current != seen)
            {
                return;
            }

            _entries.TryRemove(keyHash, out _);
            Interlocked.Add(ref _usedBytes, -seen.FileLength);
            DeleteObjectFile(keyHash);
            _index.Delete(keyHash);
        }

        if (corrupt)
        {
            Interlocked.Increment(ref _corruptObjectsDropped);
        }

        SsdStoreLog.ObjectDropped(_logger, keyHash, reason);
    }

    private void DeleteObjectFile(ulong keyHash)
    {
        var file = ObjectFile(keyHash);
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            // The index no longer lists it; a later open re-indexes (and re-verifies) the file if it is still there.
            SsdStoreLog.DeleteFailed(_logger, file, ex);
        }
    }

    private static bool VerifyBody(SafeFileHandle handle, in ObjectHeader header)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(VerifyBufferSize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long offset = ObjectHeader.Length;
            var end = header.FileLength;
            while (offset < end)
            {
                var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
                if (read == 0)
                {
                    return false;
                }

                hash.AppendData(buffer, 0, read);
                offset += read;
            }

            return hash.GetHashAndReset().AsSpan().SequenceEqual(header.Sha256);
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void OnCheckpointTimer()
    {
        if (_disposed || !_checkpointGate.Wait(0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await CheckpointCoreAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _checkpointGate.Release();
            }
        });
    }

    private async Task<bool> CheckpointCoreAsync(CancellationToken cancellationToken)
    {
        if (_index.PendingMutations == 0)
        {
            return false;
        }

        var started = _timeProvider.GetTimestamp();
        try
        {
            var taken = await _index.CheckpointAsync(_entries.Count, cancellationToken).ConfigureAwait(false);
            if (taken)
            {
                SsdStoreLog.CheckpointTaken(_logger, (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds, _index.LogBytes);
            }

            return taken;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _checkpointFailures);
            SsdStoreLog.CheckpointFailed(_logger, ex);
            return false;
        }
    }
}
