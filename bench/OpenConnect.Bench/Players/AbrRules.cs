namespace OpenConnect.Bench.Players;

/// <summary>What an ABR rule sees before choosing the next segment's rendition.</summary>
/// <param name="Current">Index of the rendition last downloaded (0 = lowest bitrate).</param>
/// <param name="BufferSeconds">Media buffered ahead of the playhead.</param>
/// <param name="EstimateBitsPerSecond">Throughput estimate, or null before the first segment.</param>
/// <param name="BufferFilled">Whether the buffer has reached the low-buffer threshold since playback started (false during start-up).</param>
public readonly record struct AbrInput(int Current, double BufferSeconds, double? EstimateBitsPerSecond, bool BufferFilled);

/// <summary>Chooses the rendition of the next segment from a ladder sorted by ascending bitrate.</summary>
public interface IAbrRule
{
    string Name { get; }

    int Choose(IReadOnlyList<double> bitrates, AbrInput input);
}

/// <summary>
/// The seed's rule (design section 7): throughput from the last few segments as bits over time;
/// switch up only when the estimate exceeds 1.5x the bitrate of the rendition switched to (so
/// always more than 1.5x the current one); switch down at once when the buffer falls under 5 s,
/// to the highest rendition the estimate covers, at least one step. "Falls under" means after
/// the buffer first reached 5 s: during start-up every buffer is under 5 s, and dropping then
/// would undo every up-switch the start-up estimate allows.
/// </summary>
public sealed class ThroughputRule : IAbrRule
{
    public const double UpFactor = 1.5;
    public const double LowBufferSeconds = 5;

    public string Name => "seed";

    public int Choose(IReadOnlyList<double> bitrates, AbrInput input)
    {
        var current = Math.Clamp(input.Current, 0, bitrates.Count - 1);
        if (input.BufferFilled && input.BufferSeconds < LowBufferSeconds && current > 0)
        {
            var fits = input.EstimateBitsPerSecond is { } e ? HighestAtOrBelow(bitrates, e) : current - 1;
            return Math.Min(current - 1, fits);
        }

        if (input.EstimateBitsPerSecond is not { } estimate)
        {
            return current;
        }

        var up = HighestAtOrBelow(bitrates, estimate / UpFactor);
        return up > current ? up : current;
    }

    /// <summary>The highest index whose bitrate is at most <paramref name="bitsPerSecond"/>; 0 when none is.</summary>
    public static int HighestAtOrBelow(IReadOnlyList<double> bitrates, double bitsPerSecond)
    {
        var best = 0;
        for (var i = 0; i < bitrates.Count; i++)
        {
            if (bitrates[i] <= bitsPerSecond)
            {
                best = i;
            }
        }

        return best;
    }
}

/// <summary>
/// BOLA-BASIC (Spiteri, Urgaonkar, Sitaraman, 2016), parameterised as dash.js does: utility
/// v_m = ln(S_m/S_0) + 1; with a minimum buffer Q_min and a target buffer Q_t,
/// gamma_p = (v_max - 1) / (Q_t/Q_min - 1) and V = Q_min / gamma_p; the next segment is the
/// rendition maximising (V (v_m + gamma_p) - Q) / S_m for buffer level Q. Buffer only: the
/// throughput estimate is ignored. Bitrates stand in for segment sizes (same segment duration).
/// </summary>
public sealed class BolaRule(double minimumBufferSeconds = 10, double targetBufferSeconds = 18) : IAbrRule
{
    public string Name => "bola";

    public double MinimumBufferSeconds { get; } = minimumBufferSeconds > 0 && targetBufferSeconds > minimumBufferSeconds
        ? minimumBufferSeconds
        : throw new ArgumentOutOfRangeException(nameof(minimumBufferSeconds), "need 0 < minimum buffer < target buffer");

    public double TargetBufferSeconds { get; } = targetBufferSeconds;

    public int Choose(IReadOnlyList<double> bitrates, AbrInput input)
    {
        if (bitrates.Count == 1)
        {
            return 0;
        }

        var top = Utility(bitrates, bitrates.Count - 1);
        var gamma = (top - 1) / ((TargetBufferSeconds / MinimumBufferSeconds) - 1);
        var v = MinimumBufferSeconds / gamma;
        var best = 0;
        var bestScore = double.NegativeInfinity;
        for (var m = 0; m < bitrates.Count; m++)
        {
            var score = ((v * (Utility(bitrates, m) + gamma)) - input.BufferSeconds) / bitrates[m];
            if (score > bestScore)
            {
                best = m;
                bestScore = score;
            }
        }

        return best;
    }

    private static double Utility(IReadOnlyList<double> bitrates, int m) => Math.Log(bitrates[m] / bitrates[0]) + 1;
}

/// <summary>Bits received over time taken for the last <see cref="Window"/> segments.</summary>
public sealed class ThroughputEstimator(int window = 3)
{
    private readonly Queue<(double Bits, double Seconds)> _samples = new();

    public int Window { get; } = window > 0 ? window : throw new ArgumentOutOfRangeException(nameof(window));

    public double? Estimate { get; private set; }

    public void Add(long bytes, double seconds)
    {
        _samples.Enqueue((bytes * 8.0, Math.Max(seconds, 1e-6)));
        if (_samples.Count > Window)
        {
            _samples.Dequeue();
        }

        Estimate = _samples.Sum(s => s.Bits) / _samples.Sum(s => s.Seconds);
    }
}
