using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Uploads on disk under <c>{DataDirectory}/uploads/</c>: <c>{id}.bin</c> holds the bytes,
/// <c>{id}.json</c> the committed <see cref="UploadRecord"/> (written to a temp file, synced, then
/// renamed over the old one). On start every info file is loaded and each incomplete body is cut
/// back to its committed offset, so bytes that were never acknowledged are not trusted. One origin
/// instance: the gate is an in-process semaphore.
/// </summary>
public sealed class LocalUploadStore : IUploadStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly ConcurrentDictionary<string, UploadEntry> _entries = new(StringComparer.Ordinal);

    public LocalUploadStore(IOptions<OriginOptions> options)
    {
        Directory = Path.Combine(options.Value.DataDirectory, "uploads");
        System.IO.Directory.CreateDirectory(Directory);
        Load();
    }

    public string Directory { get; }

    public IEnumerable<UploadEntry> Entries => _entries.Values;

    public bool SupportsConcatenation => true;

    public string BodyPath(string id) => Path.Combine(Directory, id + ".bin");

    private string InfoPath(string id) => Path.Combine(Directory, id + ".json");

    public bool TryGet(string id, out UploadEntry entry) => _entries.TryGetValue(id, out entry!);

    public ValueTask RefreshAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<UploadEntry?> FindAsync(string id, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_entries.TryGetValue(id, out var entry) ? entry : null);

    public ValueTask<UploadEntry> CreateAsync(UploadRecord record, CancellationToken cancellationToken) => ValueTask.FromResult(Create(record));

    public ValueTask<bool> CommitAsync(UploadEntry entry, UploadRecord record, bool sync = true)
    {
        Commit(entry, record, sync);
        return ValueTask.FromResult(true);
    }

    public ValueTask DeleteBodyAsync(string id)
    {
        DeleteBody(id);
        return ValueTask.CompletedTask;
    }

    public ValueTask DeleteAsync(string id)
    {
        Delete(id);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IAsyncDisposable?> TryLockAsync(UploadEntry entry) =>
        ValueTask.FromResult<IAsyncDisposable?>(entry.Gate.Wait(0, CancellationToken.None) ? new GateRelease(entry.Gate) : null);

    public async ValueTask<IAsyncDisposable> LockAsync(UploadEntry entry, CancellationToken cancellationToken)
    {
        await entry.Gate.WaitAsync(cancellationToken);
        return new GateRelease(entry.Gate);
    }

    public ValueTask<IUploadBodyWriter> OpenWriterAsync(UploadEntry entry, Func<long, UploadRecord>? commitEachPart, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IUploadBodyWriter>(new FileBodyWriter(BodyPath(entry.Current.Id), entry.Current.Offset));

    public ValueTask<string> SourcePathAsync(UploadEntry entry, CancellationToken cancellationToken) => ValueTask.FromResult(BodyPath(entry.Current.Id));

    public ValueTask<long> AssembleAsync(string finalId, IReadOnlyList<UploadRecord> parts, CancellationToken cancellationToken)
    {
        var target = BodyPath(finalId);
        var temp = target + ".tmp";
        long length = 0;
        using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (var part in parts)
            {
                using var input = new FileStream(BodyPath(part.Id), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                input.CopyTo(output, 1 << 20);
                length += part.Offset;
            }

            output.Flush(flushToDisk: true);
        }

        File.Move(temp, target, overwrite: true);
        return ValueTask.FromResult(length);
    }

    /// <summary>Persists a new upload (an empty body file unless it is a final upload) and registers it.</summary>
    public UploadEntry Create(UploadRecord record)
    {
        if (!record.IsFinal)
        {
            using (File.Open(BodyPath(record.Id), FileMode.CreateNew, FileAccess.Write))
            {
            }
        }

        WriteInfo(record);
        var entry = new UploadEntry(record);
        _entries[record.Id] = entry;
        return entry;
    }

    /// <summary>
    /// Writes the record (temp file + rename, so a crash leaves the old or the new one, never a torn
    /// file), then makes it the entry's current state. With <paramref name="sync"/> the temp file is
    /// synced before the rename, so the record survives a power loss too.
    /// </summary>
    public void Commit(UploadEntry entry, UploadRecord record, bool sync = true)
    {
        WriteInfo(record, sync);
        entry.Current = record;
    }

    public void DeleteBody(string id) => File.Delete(BodyPath(id));

    /// <summary>Removes the upload entirely (termination).</summary>
    public void Delete(string id)
    {
        DeleteBody(id);
        File.Delete(InfoPath(id));
        _entries.TryRemove(id, out _);
    }

    private void WriteInfo(UploadRecord record, bool sync = true)
    {
        var path = InfoPath(record.Id);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            JsonSerializer.Serialize(stream, record, Json);
            stream.Flush(flushToDisk: sync);
        }

        File.Move(temp, path, overwrite: true);
    }

    private void Load()
    {
        foreach (var temp in System.IO.Directory.EnumerateFiles(Directory, "*.json.tmp"))
        {
            File.Delete(temp);
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
        {
            var id = Path.GetFileNameWithoutExtension(path);
            if (!UploadIds.IsValid(id))
            {
                continue;
            }

            UploadRecord? record;
            try
            {
                using var stream = File.OpenRead(path);
                record = JsonSerializer.Deserialize<UploadRecord>(stream, Json);
            }
            catch (JsonException)
            {
                continue;
            }

            if (record is null || record.Id != id)
            {
                continue;
            }

            var body = new FileInfo(BodyPath(id));
            if (record.State == UploadStates.Uploading && body.Exists && body.Length != record.Offset)
            {
                // Bytes past the committed offset were never acknowledged; a shorter body (lost
                // page cache without sync) moves the offset back so the client resends.
                if (body.Length > record.Offset)
                {
                    using var handle = File.OpenHandle(body.FullName, FileMode.Open, FileAccess.Write);
                    RandomAccess.SetLength(handle, record.Offset);
                }
                else
                {
                    record = record with { Offset = body.Length };
                    WriteInfo(record);
                }
            }

            _entries[id] = new UploadEntry(record);
        }
    }
}

/// <summary>Releases an in-process gate once.</summary>
internal sealed class GateRelease(SemaphoreSlim gate) : IAsyncDisposable
{
    private int _released;

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            gate.Release();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Writes a request's bytes into the body file past the committed offset (positioned writes, so
/// two buffers can be in flight one after the other); a discard cuts the file back to that offset.
/// </summary>
internal sealed class FileBodyWriter(string path, long offset) : IUploadBodyWriter
{
    private readonly FileStream _file = new(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0, FileOptions.Asynchronous);
    private long _written;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        var at = offset + _written;
        _written += data.Length;
        return RandomAccess.WriteAsync(_file.SafeFileHandle, data, at);
    }

    public ValueTask DiscardAsync()
    {
        _file.SetLength(offset);
        return ValueTask.CompletedTask;
    }

    public ValueTask FinishAsync(bool sync, bool completes)
    {
        if (_written > 0 && sync)
        {
            // The last chunk is always synced: the pipeline gets a file that survives a power loss.
            _file.Flush(flushToDisk: true);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _file.DisposeAsync();
}
