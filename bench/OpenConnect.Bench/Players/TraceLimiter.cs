using System.Diagnostics;

namespace OpenConnect.Bench.Players;

/// <summary>
/// A token bucket whose fill rate follows a <see cref="NetworkTrace"/>: the session reads from its
/// socket, then pays for the bytes; when the bucket runs dry the read waits until the trace has
/// carried them. The bucket holds at most <see cref="BurstBytes"/>, so idle time between downloads
/// does not become a burst. Task.Delay rounds up to the timer tick (about 1 ms) and a loaded
/// machine wakes late: the limiter can only be slower than the trace, never faster.
/// </summary>
public sealed class TraceLimiter
{
    public const int BurstBytes = 16 * 1024;

    private readonly NetworkTrace _trace;
    private readonly long _start;
    private double _tokens = BurstBytes;
    private double _filledAt;

    public TraceLimiter(NetworkTrace trace, long startTimestamp)
    {
        _trace = trace;
        _start = startTimestamp;
    }

    public NetworkTrace Trace => _trace;

    /// <summary>Seconds since the session began.</summary>
    public double Now => Stopwatch.GetElapsedTime(_start).TotalSeconds;

    /// <summary>Pays for <paramref name="bytes"/> just read; waits while the bucket is in debt.</summary>
    public Task PayAsync(int bytes, CancellationToken cancellationToken)
    {
        var wait = Pay(bytes, Now);
        return wait > 0 ? Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Takes <paramref name="bytes"/> at time <paramref name="now"/>; the seconds to wait until the debt is repaid.</summary>
    public double Pay(int bytes, double now)
    {
        if (now > _filledAt)
        {
            _tokens = Math.Min(BurstBytes, _tokens + _trace.BytesBetween(_filledAt, now));
            _filledAt = now;
        }

        _tokens -= bytes;
        if (_tokens >= 0)
        {
            return 0;
        }

        // Repaid when the trace has carried the debt: from then on the bucket is empty.
        var repaid = _trace.TimeToCarry(_filledAt, -_tokens);
        _tokens = 0;
        var wait = repaid - now;
        _filledAt = repaid;
        return wait;
    }
}
