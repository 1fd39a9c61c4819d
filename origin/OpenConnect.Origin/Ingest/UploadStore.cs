using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Uploads on disk under <c>{DataDirectory}/uploads/</c>: <c>{id}.bin</c> holds the bytes,
/// <c>{id}.json</c> the committed <see cref="UploadRecord"/> (written to a temp file, synced, then
/// renamed over the old one). On start every info file is loaded and each incomplete body is cut
/// back to its committed offset, so bytes that were never acknowledged are not trusted.
/// </summary>
public sealed class UploadStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly ConcurrentDictionary<string, UploadEntry> _entries = new(StringComparer.Ordinal);

    public UploadStore(IOptions<OriginOptions> options)
    {
        Directory = Path.Combine(options.Value.DataDirectory, "uploads");
        System.IO.Directory.CreateDirectory(Directory);
        Load();
    }

    public string Directory { get; }

    public IEnumerable<UploadEntry> Entries => _entries.Values;

    /// <summary>A new random id: 32 lowercase hex digits (also what <see cref="IsValidId"/> accepts).</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsValidId(ReadOnlySpan<char> id)
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

    public string BodyPath(string id) => Path.Combine(Directory, id + ".bin");

    private string InfoPath(string id) => Path.Combine(Directory, id + ".json");

    public bool TryGet(string id, out UploadEntry entry) => _entries.TryGetValue(id, out entry!);

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
            if (!IsValidId(id))
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

/// <summary>An upload in memory: its committed record and the gate that admits one writer at a time.</summary>
public sealed class UploadEntry(UploadRecord record)
{
    private UploadRecord _current = record;

    public UploadRecord Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }

    /// <summary>Held by the request (or background task) changing the upload; a second writer gets 423.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);
}
