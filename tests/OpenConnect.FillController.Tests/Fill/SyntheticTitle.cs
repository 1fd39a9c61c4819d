using System.Security.Cryptography;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// A title laid out like a package (<c>master.m3u8</c>, <c>{rendition}/init.mp4</c>,
/// <c>{rendition}/seg-NNNNN.m4s</c>) with random bodies and a signed integrity manifest, served by
/// a <see cref="TestParent"/> standing in for the origin so tests can count and break requests.
/// </summary>
public sealed class SyntheticTitle
{
    public static readonly Ed25519SigningKey OriginKey = Ed25519SigningKey.FromSeed(Enumerable.Range(11, 32).Select(i => (byte)i).ToArray());

    public SyntheticTitle(string title, string[] renditions, int segments, int segmentBytes, int seed)
    {
        Title = title;
        var random = new Random(seed);
        Objects["master.m3u8"] = System.Text.Encoding.ASCII.GetBytes("#EXTM3U\n#EXT-X-VERSION:7\n" + string.Join("", renditions.Select(r => $"#EXT-X-STREAM-INF:BANDWIDTH=600000\n{r}/index.m3u8\n")));
        foreach (var rendition in renditions)
        {
            Objects[$"{rendition}/init.mp4"] = Bytes(random, 800);
            for (var i = 1; i <= segments; i++)
            {
                Objects[$"{rendition}/seg-{i:D5}.m4s"] = Bytes(random, segmentBytes);
            }
        }

        Manifest = IntegrityManifest.Create(title, Objects.ToDictionary(o => o.Key, o => new IntegrityEntry(o.Value.Length, Convert.ToHexStringLower(SHA256.HashData(o.Value)))), OriginKey).ToJsonBytes();
    }

    public string Title { get; }

    /// <summary>Bodies by path below the title.</summary>
    public Dictionary<string, byte[]> Objects { get; } = new(StringComparer.Ordinal);

    public byte[] Manifest { get; }

    public string PathOf(string relative) => $"/v/{Title}/{relative}";

    /// <summary>Content paths of one file: the rendition's objects and the title-level ones.</summary>
    public IEnumerable<string> FilePaths(string rendition) =>
        Objects.Keys.Where(k => !k.Contains('/') || k.StartsWith(rendition + "/", StringComparison.Ordinal)).Select(PathOf);

    public IEnumerable<string> SegmentPaths(string rendition) =>
        Objects.Keys.Where(k => k.StartsWith(rendition + "/seg-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(PathOf);

    /// <summary>Requests <paramref name="parent"/> received for this title's objects and manifest (not the collector's catalog reads).</summary>
    public int RequestsAt(TestParent parent) =>
        Objects.Keys.Sum(k => parent.RequestsFor(PathOf(k))) + parent.RequestsFor(IntegrityManifest.PathFor(Title));

    public void PublishTo(TestParent parent)
    {
        foreach (var (relative, body) in Objects)
        {
            parent.Put(PathOf(relative), body);
        }

        parent.Put(IntegrityManifest.PathFor(Title), Manifest);
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
