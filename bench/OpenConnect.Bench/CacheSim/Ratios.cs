namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// Each result against the references of its own cache size: Belady's byte miss ratio, LRU's, and
/// S3-FIFO's SSD writes. A reference the run did not replay gives NaN.
/// </summary>
internal sealed class Ratios
{
    private readonly Dictionary<(double Size, string Policy), SimResult> _bySizeAndPolicy = [];

    private Ratios(IEnumerable<SimResult> results)
    {
        foreach (var r in results)
        {
            _bySizeAndPolicy[(r.SizeFraction, r.Policy)] = r;
        }
    }

    public static Ratios Of(IEnumerable<SimResult> results) => new(results);

    /// <summary>Byte miss ratio over Belady's at the same size: 1.15 means 15% more missed bytes than the offline bound.</summary>
    public double ToBelady(SimResult r) =>
        _bySizeAndPolicy.TryGetValue((r.SizeFraction, Simulator.Belady), out var b) && b.ByteMissRatio > 0 ? r.ByteMissRatio / b.ByteMissRatio : double.NaN;

    /// <summary>How much lower the byte miss ratio is than LRU's at the same size, as a fraction of LRU's: 0.10 is 10% below.</summary>
    public double BelowLru(SimResult r) =>
        _bySizeAndPolicy.TryGetValue((r.SizeFraction, "lru"), out var l) && l.ByteMissRatio > 0 ? (l.ByteMissRatio - r.ByteMissRatio) / l.ByteMissRatio : double.NaN;

    /// <summary>SSD bytes written over S3-FIFO's at the same size (same trace, so also per byte served).</summary>
    public double SsdVsS3Fifo(SimResult r) =>
        _bySizeAndPolicy.TryGetValue((r.SizeFraction, "s3fifo"), out var s) && s.SsdBytesWritten > 0 ? (double)r.SsdBytesWritten / s.SsdBytesWritten : double.NaN;
}
