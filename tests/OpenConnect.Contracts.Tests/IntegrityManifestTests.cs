using System.Text;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Contracts.Tests;

public sealed class IntegrityManifestTests
{
    private const string Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Fact]
    public void Parse_ReadsDigests_ByPathBelowTheTitle()
    {
        var manifest = IntegrityManifest.Parse(Encoding.UTF8.GetBytes("{\"titleId\":\"t1\",\"algorithm\":\"sha256\",\"files\":{\"720p/seg-1.m4s\":\"" + Hex + "\",\"master.m3u8\":\"" + Hex + "\"}}"));
        Assert.Equal(Convert.FromHexString(Hex), manifest.ExpectedSha256(ContentKey.ForRenditionFile("t1", "720p", "seg-1.m4s")));
        Assert.Equal(Convert.FromHexString(Hex), manifest.ExpectedSha256(ContentKey.ForTitleFile("t1", "master.m3u8")));
        Assert.Null(manifest.ExpectedSha256(ContentKey.ForRenditionFile("t1", "480p", "seg-1.m4s")));
        Assert.Equal("/v/t1/integrity.json", IntegrityManifest.PathFor("t1"));
    }

    [Theory]
    [InlineData("{ nope", "not valid JSON")]
    [InlineData("""{"titleId":"t","algorithm":"md5","files":{}}""", "sha256")]
    [InlineData("""{"titleId":"t","algorithm":"sha256","files":{"a.m4s":"xyz"}}""", "a.m4s")]
    public void Parse_RejectsBadManifests_WithReason(string json, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => IntegrityManifest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(reason, ex.Message);
    }
}
