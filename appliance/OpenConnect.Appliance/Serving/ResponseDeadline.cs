using System.Diagnostics;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// A response may take the grace period plus the time a client reading at the minimum rate needs
/// for the bytes sent so far and about to be sent; a slower client is cut off. Time the response
/// spent waiting for a parent (a cut-through miss whose parent is slow) is not the client's: the
/// deadline moves by it (<see cref="After"/>), so a slow but progressing transfer is not cut as if
/// the client had stalled. A stalled parent is cut by <c>Upstream:IdleReadTimeout</c> instead.
/// </summary>
public readonly record struct ResponseDeadline(long Started, TimeSpan Grace, long MinBytesPerSecond)
{
    /// <summary>How long the response may have taken once <paramref name="sent"/> + <paramref name="next"/> bytes are out.</summary>
    public TimeSpan Allowed(long sent, long next) =>
        MinBytesPerSecond <= 0 ? Timeout.InfiniteTimeSpan : Grace + TimeSpan.FromSeconds((double)(sent + next) / MinBytesPerSecond);

    public TimeSpan Remaining(long sent, long next) => Remaining(sent, next, Stopwatch.GetElapsedTime(Started));

    /// <summary>Time left for the next send, given the time the response has taken (at least 1 ms; infinite with no minimum rate).</summary>
    public TimeSpan Remaining(long sent, long next, TimeSpan elapsed)
    {
        if (MinBytesPerSecond <= 0)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var left = Allowed(sent, next) - elapsed;
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>The same deadline moved later by <paramref name="waited"/> (Stopwatch ticks spent waiting for a parent).</summary>
    public ResponseDeadline After(long waited) => this with { Started = Started + waited };
}
