using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OpenConnect.Appliance.Storage;

namespace OpenConnect.Appliance.Tests.Storage;

/// <summary>A temporary store directory plus helpers to write and read objects.</summary>
internal sealed class StoreFixture : IDisposable
{
    public StoreFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "oc-ssd-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public static ulong Hash(string path) => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(path));

    public static string SegmentPath(int i) => $"/v/title{i % 7}/720p/seg-{i:D5}.m4s";

    public static byte[] Body(int length, int seed)
    {
        var body = new byte[length];
        new Random(seed).NextBytes(body);
        return body;
    }

    public static Task<SsdStore> OpenAsync(string directory, TimeProvider? time = null, TimeSpan? checkpointInterval = null) =>
        SsdStore.OpenAsync(
            new SsdStoreOptions(directory, 1L << 30, checkpointInterval ?? Timeout.InfiniteTimeSpan),
            NullLogger<SsdStore>.Instance,
            time ?? TimeProvider.System);

    public Task<SsdStore> OpenAsync(TimeProvider? time = null, TimeSpan? checkpointInterval = null) => OpenAsync(Directory, time, checkpointInterval);

    public static async Task<bool> PutAsync(SsdStore store, string path, byte[] body, int chunk = 64 << 10, byte[]? expectedSha = null)
    {
        await using var writer = store.BeginWrite(Hash(path), path, body.Length, "video/mp4", "\"e-" + body.Length + "\"", DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        for (var offset = 0; offset < body.Length; offset += chunk)
        {
            await writer.AppendAsync(body.AsMemory(offset, Math.Min(chunk, body.Length - offset)));
        }

        return await writer.CommitAsync(expectedSha);
    }

    public static byte[] ReadBody(StoredObject obj)
    {
        var body = new byte[obj.BodyLength];
        var read = 0;
        while (read < body.Length)
        {
            var n = RandomAccess.Read(obj.Handle, body.AsSpan(read), obj.BodyOffset + read);
            Assert.True(n > 0, "unexpected end of object file");
            read += n;
        }

        return body;
    }

    public static string ObjectFile(string directory, ulong keyHash) =>
        Path.Combine(directory, "objects", (keyHash >> 56).ToString("x2"), ((keyHash >> 48) & 0xff).ToString("x2"), keyHash.ToString("x16") + ".obj");

    public string ObjectFile(string path) => ObjectFile(Directory, Hash(path));

    public static byte[] Sha256(byte[] body) => SHA256.HashData(body);

    public static void CopyDirectory(string source, string destination)
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            System.IO.Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, dir)));
        }

        System.IO.Directory.CreateDirectory(destination);
        foreach (var file in System.IO.Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(destination, Path.GetRelativePath(source, file)));
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
