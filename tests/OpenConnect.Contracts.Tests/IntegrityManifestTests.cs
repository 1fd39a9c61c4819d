using System.Text;
using System.Text.Json.Nodes;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Tests;

public sealed class IntegrityManifestTests
{
    private const string Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private const string Hex2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    private static readonly Ed25519SigningKey Key = Ed25519SigningKey.FromSeed(new byte[32]);
    private static readonly Ed25519SigningKey OtherKey = Ed25519SigningKey.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray());

    private static Dictionary<string, IntegrityEntry> Files(int segments) =>
        Enumerable.Range(1, segments).ToDictionary(i => $"720p/seg-{i:00000}.m4s", i => new IntegrityEntry(1000 + i, i % 2 == 0 ? Hex : Hex2))
            .Append(new("master.m3u8", new IntegrityEntry(8, Hex)))
            .Append(new("480p/init.mp4", new IntegrityEntry(700, Hex2)))
            .ToDictionary();

    [Fact]
    public void ParseFor_AcceptsOnlyTheTitlesOwnManifest_SignedByATrustedKeyWhenKeysAreGiven()
    {
        var json = IntegrityManifest.Create("t1", Files(2), Key).ToJsonBytes();
        Assert.Equal("t1", IntegrityManifest.ParseFor("t1", json, new PublicKeyRing([Key.PublicKey])).TitleId);
        Assert.Equal("t1", IntegrityManifest.ParseFor("t1", json, PublicKeyRing.Empty).TitleId);

        var replayed = Assert.Throws<FormatException>(() => IntegrityManifest.ParseFor("t2", json, new PublicKeyRing([Key.PublicKey])));
        Assert.Contains("the manifest of 't1'", replayed.Message);
        var untrusted = Assert.Throws<FormatException>(() => IntegrityManifest.ParseFor("t1", json, new PublicKeyRing([OtherKey.PublicKey])));
        Assert.Contains("which is not a trusted origin key", untrusted.Message);
    }

    [Fact]
    public void CreatedManifest_RoundTrips_Verifies_AndAnswersDigestsAndSizes()
    {
        var manifest = IntegrityManifest.Parse(IntegrityManifest.Create("t1", Files(5), Key).ToJsonBytes());
        Assert.True(manifest.IsSignedBy(new PublicKeyRing([Key.PublicKey])));
        Assert.True(manifest.IsSignedBy(new PublicKeyRing([OtherKey.PublicKey, Key.PublicKey])));
        Assert.False(manifest.IsSignedBy(new PublicKeyRing([OtherKey.PublicKey])));
        Assert.False(manifest.IsSignedBy(PublicKeyRing.Empty));
        Assert.Equal(Convert.FromHexString(Hex2), manifest.ExpectedSha256(ContentKey.ForRenditionFile("t1", "720p", "seg-00001.m4s")));
        Assert.Equal(1002, manifest.Find(ContentKey.ForRenditionFile("t1", "720p", "seg-00002.m4s"))?.Size);
        Assert.Equal(Convert.FromHexString(Hex), manifest.ExpectedSha256(ContentKey.ForTitleFile("t1", "master.m3u8")));
        Assert.Null(manifest.ExpectedSha256(ContentKey.ForRenditionFile("t1", "1080p", "seg-00001.m4s")));
        Assert.Equal(["480p", "720p"], manifest.Renditions.Keys.Order());
        Assert.Equal("/v/t1/integrity.json", IntegrityManifest.PathFor("t1"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(11)]
    public void MerkleRoots_ChangeWhenAnyFileOfTheRenditionChanges(int segments)
    {
        var files = Files(segments);
        var root = IntegrityManifest.ComputeRenditionRoots(files)["720p"];
        var other = IntegrityManifest.ComputeRenditionRoots(files)["480p"];
        for (var i = 1; i <= segments; i++)
        {
            var changed = new Dictionary<string, IntegrityEntry>(files) { [$"720p/seg-{i:00000}.m4s"] = new IntegrityEntry(1, files[$"720p/seg-{i:00000}.m4s"].Sha256 == Hex ? Hex2 : Hex) };
            var roots = IntegrityManifest.ComputeRenditionRoots(changed);
            Assert.NotEqual(root, roots["720p"]);
            Assert.Equal(other, roots["480p"]);
        }
    }

    [Theory]
    [InlineData("title")]
    [InlineData("title-level digest")]
    [InlineData("segment size")]
    [InlineData("key id")]
    [InlineData("dropped file")]
    public void EditedManifest_NoLongerVerifies(string edit)
    {
        var json = JsonNode.Parse(IntegrityManifest.Create("t1", Files(3), Key).ToJsonBytes())!;
        var files = json["files"]!.AsObject();
        switch (edit)
        {
            case "title": json["titleId"] = "t2"; break;
            case "title-level digest": files["master.m3u8"]!["sha256"] = Hex2; break;
            case "segment size": files["720p/seg-00001.m4s"]!["size"] = 5; break;
            case "key id": json["keyId"] = "0000000000000000"; break;
            case "dropped file": files.Remove("master.m3u8"); break;
        }

        var manifest = IntegrityManifest.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()));
        Assert.False(manifest.IsSignedBy(new PublicKeyRing([Key.PublicKey])));
    }

    [Theory]
    [InlineData("{ nope", "not valid JSON")]
    [InlineData("""{"titleId":"t","algorithm":"md5","files":{}}""", "sha256")]
    [InlineData("""{"titleId":"t","algorithm":"sha256","files":{"a.m4s":{"size":1,"sha256":"xyz"}}}""", "a.m4s")]
    [InlineData("""{"titleId":"t","algorithm":"sha256","files":{"a.m4s":{"size":-1,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}""", "a.m4s")]
    [InlineData("""{"titleId":"t","algorithm":"sha256","files":{"720p/a.m4s":{"size":1,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},"renditions":{"720p":"00"}}""", "Merkle")]
    [InlineData("""{"titleId":"t","algorithm":"sha256","files":{"720p/a.m4s":{"size":1,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}""", "Merkle")]
    public void Parse_RejectsBadManifests_WithReason(string json, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => IntegrityManifest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(reason, ex.Message);
    }
}
