using Microsoft.Extensions.Time.Testing;
using OpenConnect.FillController.Fill;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>Fill windows in a site's local time: time zones, windows that cross midnight, daylight saving.</summary>
public sealed class FillWindowTests
{
    private static FillWindow Window(string zone, int startHour, int endHour) =>
        new(TimeZoneInfo.FindSystemTimeZoneById(zone), new TimeOnly(startHour, 0), new TimeOnly(endHour, 0));

    private static DateTimeOffset Utc(string instant) => DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    // Paris in winter (UTC+1): 02:00–06:00 local is 01:00–05:00 UTC.
    [InlineData("Europe/Paris", 2, 6, "2026-11-24T00:59:00Z", false, "2026-11-24", "2026-11-24T01:00:00Z", "2026-11-24T05:00:00Z")]
    [InlineData("Europe/Paris", 2, 6, "2026-11-24T01:00:00Z", true, "2026-11-24", "2026-11-24T01:00:00Z", "2026-11-24T05:00:00Z")]
    [InlineData("Europe/Paris", 2, 6, "2026-11-24T05:00:00Z", false, "2026-11-25", "2026-11-25T01:00:00Z", "2026-11-25T05:00:00Z")]
    // Paris in summer (UTC+2).
    [InlineData("Europe/Paris", 2, 6, "2026-07-01T03:00:00Z", true, "2026-07-01", "2026-07-01T00:00:00Z", "2026-07-01T04:00:00Z")]
    // New York, 22:00–04:00 crosses midnight and fills for the day it ends on (EST = UTC-5).
    [InlineData("America/New_York", 22, 4, "2026-11-24T02:59:00Z", false, "2026-11-24", "2026-11-24T03:00:00Z", "2026-11-24T09:00:00Z")]
    [InlineData("America/New_York", 22, 4, "2026-11-24T03:00:00Z", true, "2026-11-24", "2026-11-24T03:00:00Z", "2026-11-24T09:00:00Z")]
    [InlineData("America/New_York", 22, 4, "2026-11-24T04:30:00Z", true, "2026-11-24", "2026-11-24T03:00:00Z", "2026-11-24T09:00:00Z")]
    [InlineData("America/New_York", 22, 4, "2026-11-24T12:00:00Z", false, "2026-11-25", "2026-11-25T03:00:00Z", "2026-11-25T09:00:00Z")]
    // Tokyo (UTC+9): the local night is the UTC afternoon of the previous day.
    [InlineData("Asia/Tokyo", 2, 6, "2026-11-23T18:00:00Z", true, "2026-11-24", "2026-11-23T17:00:00Z", "2026-11-23T21:00:00Z")]
    public void Next_GivesTheWindowContainingNow_OrTheNextOne(string zone, int start, int end, string now, bool open, string day, string from, string to)
    {
        var window = Window(zone, start, end).Next(Utc(now));
        Assert.Equal(open, window.Contains(Utc(now)));
        Assert.Equal(DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), window.Day);
        Assert.Equal(Utc(from), window.Start);
        Assert.Equal(Utc(to), window.End);
    }

    [Fact]
    public void SpringForward_StartsAfterTheGap_AndTheWindowIsAnHourShorter()
    {
        // Paris, 2026-03-29: 02:00 local does not exist (clocks jump to 03:00 CEST = 01:00 UTC).
        var window = Window("Europe/Paris", 2, 6).For(new DateOnly(2026, 3, 29));
        Assert.Equal(Utc("2026-03-29T01:00:00Z"), window.Start);
        Assert.Equal(Utc("2026-03-29T04:00:00Z"), window.End);
        Assert.Equal(TimeSpan.FromHours(3), window.Length);
    }

    [Fact]
    public void FallBack_TakesTheFirstOccurrence_AndTheWindowIsAnHourLonger()
    {
        // New York, 2026-11-01: 01:00–02:00 local happens twice; a 01:30–05:00 window starts at the first (EDT).
        var window = new FillWindow(TimeZoneInfo.FindSystemTimeZoneById("America/New_York"), new TimeOnly(1, 30), new TimeOnly(5, 0)).For(new DateOnly(2026, 11, 1));
        Assert.Equal(Utc("2026-11-01T05:30:00Z"), window.Start);
        Assert.Equal(Utc("2026-11-01T10:00:00Z"), window.End);
        Assert.Equal(TimeSpan.FromHours(4.5), window.Length);
    }

    [Fact]
    public void EveryDayHasExactlyOneWindow_ThroughBothDaylightSavingChanges()
    {
        var window = Window("Europe/Paris", 23, 3);
        var clock = new FakeTimeProvider(Utc("2026-01-01T00:00:00Z"));
        var days = new List<DateOnly>();
        while (clock.GetUtcNow() < Utc("2027-01-01T00:00:00Z"))
        {
            var next = window.Next(clock.GetUtcNow());
            if (next.Contains(clock.GetUtcNow()) && (days.Count == 0 || days[^1] != next.Day))
            {
                days.Add(next.Day);
            }

            clock.Advance(TimeSpan.FromMinutes(30));
        }

        // 2026-01-01 01:00 local is inside the window for Jan 1; the last one, for 2027-01-01, opens on Dec 31 at 23:00.
        Assert.Equal(new DateOnly(2026, 1, 1), days[0]);
        Assert.Equal(new DateOnly(2027, 1, 1), days[^1]);
        Assert.Equal(366, days.Count);
        Assert.Equal(days.Count, days.Distinct().Count());
        Assert.True(days.Zip(days.Skip(1)).All(p => p.Second == p.First.AddDays(1)));
    }
}
