using System.Text.Json;

namespace OpenConnect.Hosting;

/// <summary>
/// A small state file every role keeps as JSON (takedown lists): written to a temporary sibling,
/// flushed to disk, then renamed over the old file, so a crash leaves the old list or the new one,
/// never half of either.
/// </summary>
public static class DurableJsonFile
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> durably, creating its directory when missing.</summary>
    public static void Write<T>(string path, T value, JsonSerializerOptions options)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, value, options);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
