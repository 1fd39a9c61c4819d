using System.Buffers.Binary;
using System.Globalization;

namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// Readers (and writers, for the self-check) of two public trace formats.
/// <list type="bullet">
/// <item>libCacheSim <c>oracleGeneral</c>: packed little-endian records of 24 bytes: u32 clock time, u64 object id,
/// u32 object size, i64 next access vtime (-1: none). Uncompressed only; the next-access field is not trusted,
/// next use is recomputed from the ids.</item>
/// <item>Text: one request per line, <c>time id size</c> separated by spaces or tabs; further columns (as in LRB's
/// traces) are ignored; blank lines and lines starting with <c>#</c> are skipped. A non-numeric id is hashed.</item>
/// </list>
/// Any malformed input is a <see cref="BenchUsageException"/> naming the file and the record.
/// </summary>
internal static class TraceFiles
{
    public const int OracleRecordBytes = 24;

    public static Trace ReadOracleGeneral(string path, int maxRequests)
    {
        using var file = Open(path);
        var length = file.Length;
        if (length == 0)
        {
            throw new BenchUsageException($"{path}: empty trace");
        }

        var head = new byte[4];
        file.ReadExactly(head);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head) == 0xFD2FB528)
        {
            throw new BenchUsageException($"{path}: zstd-compressed; decompress it first (zstd -d)");
        }

        if (length % OracleRecordBytes != 0)
        {
            throw new BenchUsageException($"{path}: {length} bytes is not a whole number of {OracleRecordBytes}-byte oracleGeneral records");
        }

        file.Position = 0;
        var records = (int)Math.Min(length / OracleRecordBytes, maxRequests);
        var builder = new TraceBuilder(records);
        var buffer = new byte[OracleRecordBytes * 4096];
        var skippedZeroSize = 0L;
        var read = 0;
        while (read < records)
        {
            var batch = Math.Min(4096, records - read);
            file.ReadExactly(buffer, 0, batch * OracleRecordBytes);
            for (var r = 0; r < batch; r++)
            {
                var rec = buffer.AsSpan(r * OracleRecordBytes, OracleRecordBytes);
                var size = BinaryPrimitives.ReadUInt32LittleEndian(rec[12..]);
                if (size == 0)
                {
                    // Some public traces carry size 0 for metadata requests; they occupy no cache.
                    skippedZeroSize++;
                    continue;
                }

                builder.Add(BinaryPrimitives.ReadUInt32LittleEndian(rec), BinaryPrimitives.ReadUInt64LittleEndian(rec[4..]), size);
            }

            read += batch;
        }

        if (skippedZeroSize > 0)
        {
            Console.WriteLine($"{path}: skipped {skippedZeroSize} zero-size requests");
        }

        return Check(builder, path, $"oracle:{Path.GetFileName(path)}");
    }

    public static Trace ReadText(string path, int maxRequests)
    {
        using var file = Open(path);
        using var reader = new StreamReader(file);
        var builder = new TraceBuilder(1 << 16);
        var lineNumber = 0;
        string? line;
        Span<Range> fields = stackalloc Range[4];
        while (builder.Count < maxRequests && (line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            var text = line.AsSpan().Trim();
            if (text.IsEmpty || text[0] == '#')
            {
                continue;
            }

            var n = text.SplitAny(fields, " \t", StringSplitOptions.RemoveEmptyEntries);
            if (n < 3)
            {
                throw new BenchUsageException($"{path}:{lineNumber}: expected 'time id size', got '{Clip(line)}'");
            }

            if (!double.TryParse(text[fields[0]], NumberStyles.Float, CultureInfo.InvariantCulture, out var time) || time < 0)
            {
                throw new BenchUsageException($"{path}:{lineNumber}: time '{text[fields[0]]}' is not a non-negative number");
            }

            var idText = text[fields[1]];
            var key = ulong.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : Fnv1a(idText);
            if (!long.TryParse(text[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size <= 0)
            {
                throw new BenchUsageException($"{path}:{lineNumber}: size '{text[fields[2]]}' is not a positive integer");
            }

            builder.Add((uint)Math.Min(time, uint.MaxValue), key, size);
        }

        return Check(builder, path, $"text:{Path.GetFileName(path)}");
    }

    public static void WriteOracleGeneral(Trace trace, string path)
    {
        using var file = File.Create(path);
        var rec = new byte[OracleRecordBytes];
        var next = trace.NextUse;
        for (var i = 0; i < trace.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(rec, trace.Times[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(4), trace.Keys[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(12), checked((uint)trace.Sizes[i]));
            BinaryPrimitives.WriteInt64LittleEndian(rec.AsSpan(16), next[i] == int.MaxValue ? -1 : next[i]);
            file.Write(rec);
        }
    }

    public static void WriteText(Trace trace, string path)
    {
        using var writer = new StreamWriter(path);
        for (var i = 0; i < trace.Count; i++)
        {
            writer.Write(trace.Times[i]);
            writer.Write(' ');
            writer.Write(trace.Keys[i]);
            writer.Write(' ');
            writer.Write(trace.Sizes[i]);
            writer.Write('\n');
        }
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new BenchUsageException($"{path}: cannot read trace: {ex.Message}");
        }
    }

    private static Trace Check(TraceBuilder builder, string path, string name) =>
        builder.Count > 0 ? builder.Build(name) : throw new BenchUsageException($"{path}: no requests in trace");

    private static string Clip(string line) => line.Length <= 60 ? line : line[..60] + "...";

    /// <summary>FNV-1a 64 of a textual id: stable across runs, unlike string.GetHashCode.</summary>
    private static ulong Fnv1a(ReadOnlySpan<char> text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
