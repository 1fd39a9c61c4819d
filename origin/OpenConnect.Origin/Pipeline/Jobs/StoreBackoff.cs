namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// The wait between attempts to reach a job store that is down: doubles from <paramref name="first"/>
/// up to <paramref name="max"/>, and starts over once the store answered. Keeps workers and the
/// coordinator from spinning (or flooding the log) through an outage while they resume promptly after it.
/// </summary>
public sealed class StoreBackoff(TimeSpan first, TimeSpan max)
{
    private readonly TimeSpan _first = first;

    /// <summary>The bound the waits grow to: 10 s.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    private TimeSpan _next = first;

    /// <summary>Whether the last attempt failed (a wait is pending).</summary>
    public bool Failing { get; private set; }

    /// <summary>The wait before the next attempt; the one after is twice as long, up to the bound.</summary>
    public TimeSpan Next()
    {
        Failing = true;
        var wait = _next;
        _next = TimeSpan.FromTicks(Math.Min(max.Ticks, _next.Ticks * 2));
        return wait;
    }

    /// <summary>The store answered: the next outage starts from the first wait again.</summary>
    public void Reset()
    {
        Failing = false;
        _next = _first;
    }
}
