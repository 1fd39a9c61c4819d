using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>A title is live in a site once every planned copy of every one of its files is complete.</summary>
public sealed class SiteStatusTests
{
    [Theory]
    [InlineData(new[] { 1, 1, 1 }, true)]
    [InlineData(new[] { 1, 0, 1 }, false)]
    [InlineData(new[] { 1, 2, 1 }, false)]
    [InlineData(new[] { 0, 0, 0 }, false)]
    public void Live_OnlyWhenAllCopiesAreDone(int[] states, bool live)
    {
        var files = new List<PlannedFile>
        {
            new("a1", new FileId("t1", "r0"), states[0], ""),
            new("a2", new FileId("t1", "r0"), states[1], ""),
            new("a1", new FileId("t1", "r1"), states[2], ""),
            new("a1", new FileId("t2", "r0"), FillStore.Done, ""),
        };
        var status = SiteStatus.From("isp1", null, files);
        var t1 = status.Titles.Single(t => t.Title == "t1");
        Assert.Equal(live, t1.Live);
        Assert.Equal(3, t1.CopiesPlanned);
        Assert.Equal(["a1", "a2"], t1.Appliances);
        Assert.True(status.Titles.Single(t => t.Title == "t2").Live);
    }
}
