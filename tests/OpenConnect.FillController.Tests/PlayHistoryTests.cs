using Microsoft.Extensions.Time.Testing;
using OpenConnect.Steering.Play;

namespace OpenConnect.FillController.Tests;

public class PlayHistoryTests
{
    [Fact]
    public void Counts_PerSiteTitleAndUtcDay_AndForgetDaysOlderThanTheRetention()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 23, 59, 0, TimeSpan.Zero));
        var history = new PlayHistory(time);
        history.Record("isp1", "t1");
        history.Record("isp1", "t1");
        history.Record("isp2", "t1");
        time.Advance(TimeSpan.FromMinutes(2)); // past midnight UTC: a new day
        history.Record("isp1", "t1");

        var rows = history.Since(DateOnly.MinValue);
        Assert.Equal(
            [("isp1", "t1", "2026-11-24", 2L), ("isp2", "t1", "2026-11-24", 1L), ("isp1", "t1", "2026-11-25", 1L)],
            rows.Select(r => (r.Site, r.Title, r.Day, r.Plays)));
        Assert.Single(history.Since(new DateOnly(2026, 11, 25)));

        time.Advance(TimeSpan.FromDays(PlayHistory.RetainedDays - 1));
        history.Record("isp1", "t2");
        Assert.DoesNotContain(history.Since(DateOnly.MinValue), r => r.Day == "2026-11-24");
        Assert.Contains(history.Since(DateOnly.MinValue), r => r.Day == "2026-11-25");
    }

    [Fact]
    public void ATableAtItsBound_CountsNewKeysAsDropped_ButKeepsCountingKnownOnes()
    {
        var history = new PlayHistory(new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero)), maxEntries: 2);
        history.Record("isp1", "a");
        history.Record("isp1", "b");
        history.Record("isp1", "c");
        history.Record("isp1", "a");
        Assert.Equal(1, history.Dropped);
        Assert.Equal([("a", 2L), ("b", 1L)], history.Since(DateOnly.MinValue).Select(r => (r.Title, r.Plays)));
        Assert.NotEqual(new PlayHistory(TimeProvider.System).Instance, history.Instance);
    }
}
