namespace OpenConnect.FillController.Fill;

/// <summary>One occurrence of a site's fill window: the local <see cref="Day"/> it fills for (the local date the window ends on) and its UTC bounds.</summary>
public readonly record struct WindowOccurrence(DateOnly Day, DateTimeOffset Start, DateTimeOffset End)
{
    public bool Contains(DateTimeOffset instant) => instant >= Start && instant < End;

    public TimeSpan Length => End - Start;
}

/// <summary>
/// A site's nightly fill window, in the site's local time: pure date arithmetic, the clock comes
/// from the caller. A window whose end is earlier than its start crosses midnight and fills for the
/// day it ends on. Daylight saving: a local time that does not exist (the spring-forward gap)
/// moves to the first minute after the gap; a local time that occurs twice (fall back) is taken at
/// its first occurrence. So a 02:00–06:00 window is 3 h long on the spring-forward night and 5 h
/// long on the fall-back night, and every day has exactly one window.
/// </summary>
public sealed record FillWindow(TimeZoneInfo Zone, TimeOnly Start, TimeOnly End)
{
    public bool CrossesMidnight => End < Start;

    /// <summary>The window containing <paramref name="now"/>, or else the next one to open.</summary>
    public WindowOccurrence Next(DateTimeOffset now)
    {
        var localDay = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Zone).DateTime);
        for (var day = localDay.AddDays(-1); ; day = day.AddDays(1))
        {
            var occurrence = For(day);
            if (occurrence.End > now)
            {
                return occurrence;
            }
        }
    }

    /// <summary>The window that fills for local day <paramref name="day"/>.</summary>
    public WindowOccurrence For(DateOnly day)
    {
        var startDay = CrossesMidnight ? day.AddDays(-1) : day;
        return new WindowOccurrence(day, ToInstant(startDay.ToDateTime(Start)), ToInstant(day.ToDateTime(End)));
    }

    /// <summary>The UTC instant of a local wall-clock time in <see cref="Zone"/> (see the type's remarks for DST).</summary>
    public DateTimeOffset ToInstant(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        // The gap is at most a few hours in any real zone; step to its end minute by minute.
        for (var guard = 0; Zone.IsInvalidTime(local) && guard < 24 * 60; guard++)
        {
            local = local.AddMinutes(1);
        }

        var offset = Zone.IsAmbiguousTime(local) ? Zone.GetAmbiguousTimeOffsets(local).Max() : Zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
