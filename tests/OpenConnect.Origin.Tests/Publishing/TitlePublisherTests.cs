using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin.Publishing;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Publishing;

public sealed class TitlePublisherTests
{
    [Fact]
    public async Task PublishedTitle_CarriesASignedManifestListingEveryObject()
    {
        using var dir = new TempDirectory();
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        var publisher = origin.Services.GetRequiredService<ITitlePublisher>();
        var key = origin.Services.GetRequiredService<Ed25519SigningKey>();
        var package = Path.Combine(dir.Path, "package");
        var files = new Dictionary<string, byte[]>
        {
            ["master.m3u8"] = "#EXTM3U\n"u8.ToArray(),
            ["poster.jpg"] = RandomNumberGenerator.GetBytes(3000),
            ["720p/init.mp4"] = RandomNumberGenerator.GetBytes(900),
            ["720p/seg-00001.m4s"] = RandomNumberGenerator.GetBytes(70_000),
            ["720p/seg-00002.m4s"] = RandomNumberGenerator.GetBytes(70_001),
            ["audio/seg-00001.m4s"] = RandomNumberGenerator.GetBytes(5000),
        };
        foreach (var (relative, bytes) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(package, relative))!);
            await File.WriteAllBytesAsync(Path.Combine(package, relative), bytes);
        }

        await publisher.WriteIntegrityManifestAsync("t1", package, CancellationToken.None);
        await publisher.WriteIntegrityManifestAsync("t1", package, CancellationToken.None); // idempotent: the manifest never lists itself
        await publisher.PublishAsync("t1", package, CancellationToken.None);

        using var client = origin.CreateClient();
        var manifest = IntegrityManifest.Parse(await client.GetByteArrayAsync("/v/t1/integrity.json"));
        Assert.True(manifest.IsSignedBy(new PublicKeyRing([key.PublicKey])));
        Assert.Equal(files.Keys.Order(StringComparer.Ordinal), manifest.Files.Keys.Order(StringComparer.Ordinal));
        foreach (var (relative, bytes) in files)
        {
            var served = await client.GetByteArrayAsync($"/v/t1/{relative}");
            Assert.Equal(bytes, served);
            Assert.Equal(new IntegrityEntry(bytes.Length, Convert.ToHexStringLower(SHA256.HashData(served))), manifest.Files[relative]);
        }

        Assert.Equal(["720p", "audio"], manifest.Renditions.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SigningKey_SurvivesRestart_AndPackagesWithUnservableNamesAreRefused()
    {
        using var dir = new TempDirectory();
        string keyId;
        await using (var first = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}"))
        {
            keyId = first.Services.GetRequiredService<Ed25519SigningKey>().KeyId;
        }

        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        Assert.Equal(keyId, origin.Services.GetRequiredService<Ed25519SigningKey>().KeyId);
        var published = Ed25519PublicKey.Parse(await File.ReadAllTextAsync(Path.Combine(dir.Path, "keys", "origin-signing.pub")));
        Assert.Equal(keyId, published.KeyId);

        var package = Path.Combine(dir.Path, "bad");
        Directory.CreateDirectory(Path.Combine(package, "720p", "deeper"));
        await File.WriteAllTextAsync(Path.Combine(package, "720p", "deeper", "x.m4s"), "x");
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => origin.Services.GetRequiredService<ITitlePublisher>().WriteIntegrityManifestAsync("t2", package, CancellationToken.None));
        Assert.Contains("720p/deeper/x.m4s", ex.Message);
        Assert.False(File.Exists(Path.Combine(package, IntegrityManifest.FileName)));
    }
}
