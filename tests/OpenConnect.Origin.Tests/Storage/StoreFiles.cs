using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>Packages to publish and objects read back, for the store tests.</summary>
internal static class StoreFiles
{
    /// <summary>A new staging directory under <paramref name="parent"/> holding <paramref name="files"/> (paths relative to the title, '/' separated).</summary>
    public static string Stage(string parent, params (string Name, byte[] Content)[] files)
    {
        var staging = Path.Combine(parent, "staging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        foreach (var (name, content) in files)
        {
            var path = Path.Combine(staging, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
        }

        return staging;
    }

    /// <summary>Distinct content for each <paramref name="seed"/>, so a mix of versions shows.</summary>
    public static byte[] Pattern(int length, int seed) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 31) + seed))];

    /// <summary>The whole object, the stream disposed.</summary>
    public static async Task<byte[]> ReadAllAsync(StoredObject? stored)
    {
        Assert.NotNull(stored);
        await using var content = stored.Content;
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        return copy.ToArray();
    }
}
