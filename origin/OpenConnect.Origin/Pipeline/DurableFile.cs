namespace OpenConnect.Origin.Pipeline;

/// <summary>Makes written files durable before they are given their final names.</summary>
public static class DurableFile
{
    /// <summary>Name for a temporary sibling of <paramref name="finalPath"/> that keeps its extension (ffmpeg picks muxers by it).</summary>
    public static string TempFor(string finalPath) =>
        Path.Combine(Path.GetDirectoryName(finalPath)!, $"{Path.GetFileNameWithoutExtension(finalPath)}.tmp-{Guid.NewGuid():N}{Path.GetExtension(finalPath)}");

    /// <summary>Flushes a file to disk.</summary>
    public static void Flush(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Flushes <paramref name="tempPath"/> and renames it over <paramref name="finalPath"/>.</summary>
    public static void Commit(string tempPath, string finalPath)
    {
        Flush(tempPath);
        File.Move(tempPath, finalPath, overwrite: true);
    }

    /// <summary>Writes text to a temporary file, flushes it and renames it into place.</summary>
    public static void WriteAllText(string finalPath, string text)
    {
        var temp = TempFor(finalPath);
        File.WriteAllText(temp, text);
        Commit(temp, finalPath);
    }

    /// <summary>Flushes every file below a directory.</summary>
    public static void FlushTree(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            Flush(file);
        }
    }

    /// <summary>Deletes leftovers of interrupted writes (<c>*.tmp-*</c> files and directories) in a directory tree.</summary>
    public static void RemoveTemporaries(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var dir in Directory.GetDirectories(directory, "*.tmp-*", SearchOption.AllDirectories))
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        foreach (var file in Directory.GetFiles(directory, "*.tmp-*", SearchOption.AllDirectories))
        {
            File.Delete(file);
        }
    }
}
