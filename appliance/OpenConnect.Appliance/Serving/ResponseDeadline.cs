using System.Diagnostics;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// A response may take the grace period plus the time a client reading at the minimum rate needs
/// for the bytes sent so far and about to be sent; a slower client is cut off.
/// </summary>
internal readonly record struct ResponseDeadline(long Started, TimeSpan Grace, long MinBytesPerSecond)
{
    public TimeSpan Remaining(long sent, long next)
    {
        if (MinBytesPerSecond <= 0)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var allowed = Grace + TimeSpan.FromSeconds((double)(sent + next) / MinBytesPerSecond);
        var left = allowed - Stopwatch.GetElapsedTime(Started);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }
}
