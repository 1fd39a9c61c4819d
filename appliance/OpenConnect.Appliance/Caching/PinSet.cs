using System.Buffers.Binary;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The objects fill pinned for the day (key hash → body length), persisted at
/// <c>{Cache:Directory}/fill/pins.bin</c> (16 bytes per pin, written to a temporary file and renamed)
/// so pins survive a restart. Not thread-safe: the cache's policy lock guards it (<see cref="PinnedObjects"/>, <see cref="SsdTier"/>).
/// </summary>
public sealed class PinSet
{
    private readonly Dictionary<ulong, long> _pins = [];
    private readonly string _file;

    public PinSet(string file) => _file = file;

    /// <summary>Reads the pins written before a restart (none when the file does not exist); the cache's start step calls it.</summary>
    public void Load()
    {
        if (!File.Exists(_file))
        {
            return;
        }

        var bytes = File.ReadAllBytes(_file);
        for (var offset = 0; offset + 16 <= bytes.Length; offset += 16)
        {
            var key = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
            var length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset + 8));
            if (length > 0 && _pins.TryAdd(key, length))
            {
                Bytes += length;
            }
        }
    }

    public long Bytes { get; private set; }

    public int Count => _pins.Count;

    public IEnumerable<ulong> Keys => _pins.Keys;

    public bool Contains(ulong key) => _pins.ContainsKey(key);

    public bool Add(ulong key, long length)
    {
        if (!_pins.TryAdd(key, length))
        {
            return false;
        }

        Bytes += length;
        return true;
    }

    public bool Remove(ulong key, out long length)
    {
        if (!_pins.Remove(key, out length))
        {
            return false;
        }

        Bytes -= length;
        return true;
    }

    /// <summary>A copy of the pins, to write without holding the cache's lock.</summary>
    public byte[] Snapshot()
    {
        var bytes = new byte[_pins.Count * 16];
        var offset = 0;
        foreach (var (key, length) in _pins)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), key);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(offset + 8), length);
            offset += 16;
        }

        return bytes;
    }

    /// <summary>Writes a snapshot durably (temporary file, fsync, rename).</summary>
    public void Write(byte[] snapshot)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        var temp = _file + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(snapshot);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _file, overwrite: true);
    }
}
