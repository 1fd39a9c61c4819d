namespace OpenConnect.Appliance.Fill;

/// <summary>
/// Keeps a transfer (a fill pass, an operator's prefetch) under a byte rate on average: after each
/// object it waits until the bytes so far fit the rate since the pacer was created. A rate of 0
/// means uncapped.
/// </summary>
public sealed class RatePacer(long rateBytesPerSecond, TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();
    private long _bytes;

    /// <summary>Bytes counted so far.</summary>
    public long Bytes => _bytes;

    /// <summary>Counts <paramref name="bytes"/> just transferred and waits as long as the rate requires.</summary>
    public async Task AddAsync(long bytes, CancellationToken cancellationToken)
    {
        _bytes += bytes;
        if (rateBytesPerSecond <= 0)
        {
            return;
        }

        var due = TimeSpan.FromSeconds((double)_bytes / rateBytesPerSecond) - time.GetElapsedTime(_started);
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
