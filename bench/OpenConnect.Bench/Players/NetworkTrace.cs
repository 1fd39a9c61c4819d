namespace OpenConnect.Bench.Players;

/// <summary>
/// A link's capacity over time, one value per second (the last one holds after the end), and its
/// round-trip time (paid once per request).
/// </summary>
public sealed class NetworkTrace
{
    public NetworkTrace(string name, double[] bitsPerSecond, TimeSpan roundTrip)
    {
        if (bitsPerSecond.Length == 0 || bitsPerSecond.Any(b => !(b > 0)))
        {
            throw new ArgumentException("a trace needs at least one second, every rate positive", nameof(bitsPerSecond));
        }

        Name = name;
        BitsPerSecond = bitsPerSecond;
        RoundTrip = roundTrip;
    }

    public string Name { get; }

    public IReadOnlyList<double> BitsPerSecond { get; }

    public TimeSpan RoundTrip { get; }

    public double Mean => BitsPerSecond.Average();

    public double RateAt(double seconds) => BitsPerSecond[Math.Clamp((int)Math.Floor(seconds), 0, BitsPerSecond.Count - 1)];

    /// <summary>Bytes the link carries between <paramref name="from"/> and <paramref name="to"/> (seconds since the session began).</summary>
    public double BytesBetween(double from, double to)
    {
        var bytes = 0.0;
        var t = Math.Max(from, 0);
        while (t < to)
        {
            var next = Math.Min(Math.Floor(t) + 1, to);
            bytes += RateAt(t) / 8 * (next - t);
            t = next;
        }

        return bytes;
    }

    /// <summary>The time at which the link has carried <paramref name="bytes"/> more bytes, starting at <paramref name="from"/>.</summary>
    public double TimeToCarry(double from, double bytes)
    {
        var t = Math.Max(from, 0);
        while (bytes > 0)
        {
            var rate = RateAt(t) / 8;
            var stepEnd = t < BitsPerSecond.Count - 1 ? Math.Floor(t) + 1 : double.PositiveInfinity;
            var inStep = rate * (stepEnd - t);
            if (inStep >= bytes)
            {
                return t + (bytes / rate);
            }

            bytes -= inStep;
            t = stepEnd;
        }

        return t;
    }
}

/// <summary>The link kinds the bench replays: a mobile (LTE-like) and a cable link.</summary>
public sealed record LinkProfile(string Name, double MeanBitsPerSecond, double Variation, double OutagesPerMinute, TimeSpan RoundTrip)
{
    /// <summary>Mobile: 2 Mbit/s mean, strong variation (0.5), about one deep fade per minute, 60 ms RTT.</summary>
    public static readonly LinkProfile Mobile = new("mobile", 2_000_000, 0.5, 1.0, TimeSpan.FromMilliseconds(60));

    /// <summary>Cable: 8 Mbit/s mean, mild variation (0.15), no fades, 15 ms RTT.</summary>
    public static readonly LinkProfile Cable = new("cable", 8_000_000, 0.15, 0, TimeSpan.FromMilliseconds(15));
}

/// <summary>
/// Generates traces from a seed (deterministic: the same seed and session give the same trace).
/// <list type="bullet">
/// <item><b>steady</b>: the profile's mean for the whole session.</item>
/// <item><b>stepdown</b>: 2x the mean for the first third, the mean for the second, 0.4x the mean for the rest.</item>
/// <item><b>variable</b>: a log-normal Gauss-Markov process per second around the mean,
/// x(t) = 0.8 x(t-1) + sqrt(1 - 0.8^2) N(0,1), rate = mean exp(sigma x - sigma^2/2) with
/// sigma = sqrt(ln(1 + variation^2)) (so the mean and coefficient of variation are the profile's),
/// plus fades (Poisson, the profile's rate per minute) lasting 1-3 s at 10% of the rate;
/// rates are clamped to at least 50 kbit/s.</item>
/// <item><b>floor</b>: steady at a given rate (the goal's 1.2x the lowest rung).</item>
/// </list>
/// </summary>
public static class TraceGenerator
{
    public const double Correlation = 0.8;
    public const double FadeDepth = 0.1;
    public const double MinimumBitsPerSecond = 50_000;

    public static NetworkTrace Steady(LinkProfile link, int seconds) =>
        new($"{link.Name}-steady", Enumerable.Repeat(link.MeanBitsPerSecond, seconds).ToArray(), link.RoundTrip);

    public static NetworkTrace Floor(double bitsPerSecond, int seconds, TimeSpan roundTrip) =>
        new("floor-1.2x", Enumerable.Repeat(bitsPerSecond, seconds).ToArray(), roundTrip);

    public static NetworkTrace StepDown(LinkProfile link, int seconds)
    {
        var rates = new double[seconds];
        for (var t = 0; t < seconds; t++)
        {
            rates[t] = link.MeanBitsPerSecond * (t < seconds / 3 ? 2.0 : t < 2 * seconds / 3 ? 1.0 : 0.4);
        }

        return new($"{link.Name}-stepdown", rates, link.RoundTrip);
    }

    public static NetworkTrace Variable(LinkProfile link, int seconds, int seed)
    {
        var random = new Random(seed);
        var sigma = Math.Sqrt(Math.Log(1 + (link.Variation * link.Variation)));
        var innovation = Math.Sqrt(1 - (Correlation * Correlation));
        var x = Gaussian(random);
        var rates = new double[seconds];
        var fadeLeft = 0;
        for (var t = 0; t < seconds; t++)
        {
            x = (Correlation * x) + (innovation * Gaussian(random));
            var rate = link.MeanBitsPerSecond * Math.Exp((sigma * x) - (sigma * sigma / 2));
            if (fadeLeft == 0 && random.NextDouble() < link.OutagesPerMinute / 60)
            {
                fadeLeft = random.Next(1, 4);
            }

            if (fadeLeft > 0)
            {
                rate *= FadeDepth;
                fadeLeft--;
            }

            rates[t] = Math.Max(rate, MinimumBitsPerSecond);
        }

        return new($"{link.Name}-variable", rates, link.RoundTrip);
    }

    private static double Gaussian(Random random)
    {
        // Box-Muller.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
