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

    [Theory]
    // 03:00 in a 02:00-06:00 UTC window: a quarter gone.
    [InlineData(3, 0.25)]
    // Before the window: nothing gone yet (the window is the next one).
    [InlineData(1, 0)]
    // After it: the next night's window, not yet open.
    [InlineData(7, 0)]
    public void Progress_IsCopiesCompleteOfPlanned_AgainstTheWindow(int hour, double elapsed)
    {
        var now = new DateTimeOffset(2026, 12, 7, hour, 0, 0, TimeSpan.Zero);
        var window = new FillWindow(TimeZoneInfo.Utc, new TimeOnly(2, 0), new TimeOnly(6, 0));
        var files = new List<PlannedFile>
        {
            new("a1", new FileId("t1", "r0"), FillStore.Done, ""),
            new("a2", new FileId("t1", "r0"), FillStore.Failed, ""),
            new("a1", new FileId("t2", "r0"), FillStore.Done, ""),
            new("a2", new FileId("t2", "r0"), FillStore.Done, ""),
        };
        var next = window.Next(now);

        var progress = SiteProgress.Of(SiteStatus.From("isp1", null, files), next, (false, next.End), now);

        Assert.Equal(elapsed, progress.WindowElapsed);
        Assert.Equal(hour < 6 ? 7 : 8, progress.WindowStart.Day);
        Assert.Equal(TimeSpan.FromHours(4), progress.WindowEnd - progress.WindowStart);
        Assert.Equal((4, 3, 1), (progress.CopiesPlanned, progress.CopiesComplete, progress.CopiesFailed));
        Assert.Equal(0.75, progress.Progress);
        Assert.Equal((1, 1), (progress.TitlesLive, progress.TitlesFilling));
        Assert.Null(progress.Day);
    }

    [Fact]
    public void Progress_WithNothingPlanned_IsUnknown()
    {
        var now = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        var next = new FillWindow(TimeZoneInfo.Utc, new TimeOnly(2, 0), new TimeOnly(6, 0)).Next(now);
        var progress = SiteProgress.Of(SiteStatus.From("isp1", null, []), next, (false, next.End), now);
        Assert.Null(progress.Progress);
        Assert.Equal(0, progress.CopiesPlanned);
    }
}
