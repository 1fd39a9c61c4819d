using OpenConnect.Appliance.Upstream;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Upstream;

public sealed class TakedownSetTests
{
    [Theory]
    [InlineData("/v/t1/master.m3u8", true)]
    [InlineData("/v/t1/720p/seg-00001.m4s", true)]
    [InlineData("/v/t10/master.m3u8", false)]
    [InlineData("/v/t/master.m3u8", false)]
    [InlineData("/s/token/v/t1/master.m3u8", false)]
    [InlineData("/v/t1", false)]
    [InlineData("", false)]
    public void Holds_MatchesTheTitleSegmentOfAContentPath(string path, bool held)
    {
        var set = new TakedownSet(null);
        set.Apply(1, new Dictionary<string, string> { ["t1"] = "deleted" });
        Assert.Equal(held, set.Holds(path));
    }

    [Fact]
    public void Apply_ReturnsTheNewTitles_PersistsTheList_AndSkipsInvalidIds()
    {
        using var state = new TempDirectory("openconnect-takedown-set");
        var path = state.Combine("takedowns.json");
        var set = new TakedownSet(path);
        Assert.False(set.Holds("/v/t1/master.m3u8"));

        Assert.Equal(["t1", "t2"], set.Apply(3, new Dictionary<string, string> { ["t2"] = "unpublished", ["t1"] = "deleted", ["../x"] = "deleted" }));
        Assert.Equal(["t3"], set.Apply(4, new Dictionary<string, string> { ["t1"] = "deleted", ["t3"] = "deleted" }));

        var reloaded = new TakedownSet(path);
        Assert.Equal(4ul, reloaded.Generation);
        Assert.True(reloaded.Holds("/v/t3/a.m4s"));
        Assert.False(reloaded.Holds("/v/t2/a.m4s"));
        Assert.Equal(2, reloaded.Count);

        File.WriteAllText(path, "[1, 2");
        Assert.Contains("not valid", Assert.Throws<InvalidOperationException>(() => new TakedownSet(path)).Message, StringComparison.Ordinal);
    }
}
