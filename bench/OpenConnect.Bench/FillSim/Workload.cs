using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Bench.FillSim;

/// <summary>A file's expected plays on one day at one site (see <see cref="Workload.ExpectedPlays"/>).</summary>
public readonly record struct FileDemand(int Title, byte Rendition, double Plays);

/// <summary>One play: a title watched in one rendition (ABR settles on one) for its first <see cref="Chunks"/> chunks, audio alongside.</summary>
public readonly record struct Play(byte Site, int Title, byte Rendition, short Chunks);

/// <summary>
/// The synthetic region: a catalog with the origin's real ladder sizes, new releases every day, and
/// per-site daily plays drawn from Zipf popularity that drifts. Deterministic for a seed.
/// </summary>
/// <remarks>
/// Parameters and why (none tuned to the goal):
/// <list type="bullet">
/// <item>Popularity: Zipf over titles (default α 0.8, the middle of the 0.6–1.0 measured for VOD
/// catalogs), each title's weight drifting by a daily log-normal step (σ 0.1: a title's demand moves
/// ~10% a day), and each site's taste differing by a fixed log-normal factor per title (σ 0.5).</item>
/// <item>Releases: 20 titles a day (600 a month, a large VOD service's pace), each with a Zipf rank
/// drawn log-uniformly over the catalog (most minor, a few hits) and a premiere boost of 10× halving
/// every 4 days. They appear at 00:00 of their day; the forecast learns of them the night after.</item>
/// <item>Titles: 70% episodes (20–60 min), 30% films (80–150 min); sources 15% 720p, 60% 1080p,
/// 25% 2160p; renditions are the origin's default H.264 ladder up to the source, plus AAC audio,
/// sized bitrate × duration. Objects are 5-minute chunks of a rendition (the policy's unit).</item>
/// <item>Plays: a player settles on one rendition, drawn from the site's mix (the configured shares,
/// with the low rungs weighted 0.7×–2× per site: desktop- or mobile-heavy networks); 30% of plays
/// watch to the end, the rest stop at a uniform point. Four sites with 40/30/20/10% of the plays and
/// 3/3/2/2 appliances.</item>
/// </list>
/// </remarks>
public sealed class Workload
{
    public const int ChunkSeconds = 300;

    public static readonly int[] SiteAppliances = [3, 3, 2, 2];

    private static readonly double[] SiteShares = [0.4, 0.3, 0.2, 0.1];
    private static readonly double[] SiteLowRungFactor = [1.0, 1.5, 0.7, 2.0];
    private static readonly int[] SourceHeights = [720, 1080, 2160];
    private static readonly double[] SourceShares = [0.15, 0.60, 0.25];

    private static readonly Dictionary<string, double> RenditionShares = new OpenConnect.FillController.Forecast.ForecastOptions().RenditionShares;

    private readonly FillSimOptions _options;
    private readonly Random _rng;
    private int _drawnDay = -1;

    public Workload(FillSimOptions options)
    {
        _options = options;
        var heights = PipelineOptions.DefaultBitratesKbps.Keys.Order().ToArray();
        RenditionNames = [.. heights.Select(h => $"{h}p"), "audio"];
        RenditionKbps = [.. heights.Select(h => PipelineOptions.DefaultBitratesKbps[h]), new PipelineOptions().AudioBitrateKbps];
        AudioRendition = (byte)(RenditionNames.Length - 1);

        var rng = new Random(options.Seed);
        var total = options.Titles + (options.Releases * options.Days);
        Names = new string[total];
        Durations = new int[total];
        TopRung = new byte[total];
        ReleaseDay = new int[total];
        BaseWeight = new double[total];
        var ranks = Enumerable.Range(1, options.Titles).OrderBy(_ => rng.Next()).ToArray();
        for (var t = 0; t < total; t++)
        {
            Names[t] = $"t{t:D5}";
            var episode = rng.NextDouble() < 0.7;
            Durations[t] = (int)((episode ? 20 + (40 * rng.NextDouble()) : 80 + (70 * rng.NextDouble())) * 60);
            var source = SourceHeights[Pick(SourceShares, rng.NextDouble())];
            TopRung[t] = (byte)Array.FindLastIndex(heights, h => h <= source);
            if (t < options.Titles)
            {
                ReleaseDay[t] = int.MinValue;
                BaseWeight[t] = Math.Pow(ranks[t], -options.Alpha);
            }
            else
            {
                ReleaseDay[t] = (t - options.Titles) / Math.Max(1, options.Releases);
                var rank = Math.Exp(rng.NextDouble() * Math.Log(options.Titles));
                BaseWeight[t] = Math.Pow(rank, -options.Alpha);
            }
        }

        SiteTaste = new double[SiteShares.Length][];
        for (var s = 0; s < SiteShares.Length; s++)
        {
            SiteTaste[s] = new double[total];
            for (var t = 0; t < total; t++)
            {
                SiteTaste[s][t] = Math.Exp(0.5 * Normal(rng));
            }
        }

        Drift = new double[total];
        Array.Fill(Drift, 1.0);
        CatalogBytesAtStart = Enumerable.Range(0, options.Titles).Sum(TitleBytes);
        _rng = rng;
    }

    public string[] RenditionNames { get; }

    public int[] RenditionKbps { get; }

    public byte AudioRendition { get; }

    public string[] Names { get; }

    public int[] Durations { get; }

    /// <summary>Index of the highest video rung a title has (renditions 0..TopRung, plus audio).</summary>
    public byte[] TopRung { get; }

    /// <summary>The day a title appears (<see cref="int.MinValue"/> for the catalog at day 0).</summary>
    public int[] ReleaseDay { get; }

    public double[] BaseWeight { get; }

    public double[][] SiteTaste { get; }

    public double[] Drift { get; }

    public long CatalogBytesAtStart { get; }

    public int Sites => SiteShares.Length;

    public int TitleCount(int day) => _options.Titles + (_options.Releases * (day + 1));

    public IEnumerable<byte> Renditions(int title)
    {
        for (var r = 0; r <= TopRung[title]; r++)
        {
            yield return (byte)r;
        }

        yield return AudioRendition;
    }

    public int Chunks(int title) => (Durations[title] + ChunkSeconds - 1) / ChunkSeconds;

    public long FileBytes(int title, byte rendition) => (long)RenditionKbps[rendition] * 125 * Durations[title];

    public long ChunkBytes(int title, byte rendition, int chunk)
    {
        var seconds = Math.Min(ChunkSeconds, Durations[title] - (chunk * ChunkSeconds));
        return (long)RenditionKbps[rendition] * 125 * seconds;
    }

    public long TitleBytes(int title) => Renditions(title).Sum(r => FileBytes(title, r));

    /// <summary>Plays a day at <paramref name="site"/>: its share of the region's plays.</summary>
    public int SitePlays(int site) => (int)(_options.Plays * SiteShares[site]);

    /// <summary>Draws the plays of <paramref name="day"/> in every site (and advances the drift).</summary>
    public Play[] PlaysOf(int day)
    {
        var titles = TitleCount(day);
        for (var t = 0; t < titles; t++)
        {
            Drift[t] *= Math.Exp(0.1 * Normal(_rng));
        }

        _drawnDay = day;
        var plays = new List<Play>(_options.Plays);
        for (var s = 0; s < Sites; s++)
        {
            var (weights, mix) = SiteDemand(day, s);
            var cdf = new double[titles];
            var sum = 0.0;
            for (var t = 0; t < titles; t++)
            {
                sum += weights[t];
                cdf[t] = sum;
            }

            var count = SitePlays(s);
            for (var i = 0; i < count; i++)
            {
                var title = Array.BinarySearch(cdf, _rng.NextDouble() * sum);
                title = title < 0 ? ~title : title;
                title = Math.Min(title, titles - 1);
                var top = TopRung[title];
                var rendition = (byte)Pick(mix.AsSpan(0, top + 1), _rng.NextDouble());
                var chunks = Chunks(title);
                var watched = _rng.NextDouble() < 0.3 ? chunks : Math.Max(1, (int)Math.Ceiling(_rng.NextDouble() * chunks));
                plays.Add(new Play((byte)s, title, rendition, (short)watched));
            }
        }

        // Sites are replayed independently, but in time order within a day: shuffle.
        var array = plays.ToArray();
        _rng.Shuffle(array);
        return array;
    }

    /// <summary>
    /// Each file's expected plays at <paramref name="site"/> on <paramref name="day"/>, from the
    /// distribution <see cref="PlaysOf"/> draws that day's plays from: the site's plays × the title's
    /// share of the site's title weights × the rendition's share of the site's mix over the title's
    /// rungs; the audio file is read by every play of its title. Files expected at zero plays
    /// (releases not out yet) are left out. The expectation of the day's random plays, not the plays
    /// themselves: which tail file gets its one play is still chance.
    /// </summary>
    /// <remarks>Only for the day drawn last: drawing a day moves every title's drift.</remarks>
    /// <exception cref="InvalidOperationException"><paramref name="day"/> is not the day <see cref="PlaysOf"/> drew last.</exception>
    public List<FileDemand> ExpectedPlays(int day, int site)
    {
        if (day != _drawnDay)
        {
            throw new InvalidOperationException($"expected demand of day {day} asked after drawing day {_drawnDay}: the drift is that of the day drawn last");
        }

        var (weights, mix) = SiteDemand(day, site);
        var sum = 0.0;
        foreach (var w in weights)
        {
            sum += w;
        }

        var count = SitePlays(site);
        var files = new List<FileDemand>();
        for (var t = 0; t < weights.Length; t++)
        {
            var plays = count * weights[t] / sum;
            if (plays <= 0)
            {
                continue;
            }

            var rungs = mix.AsSpan(0, TopRung[t] + 1);
            var rungTotal = 0.0;
            foreach (var m in rungs)
            {
                rungTotal += m;
            }

            for (var r = 0; r < rungs.Length; r++)
            {
                if (rungs[r] > 0)
                {
                    files.Add(new FileDemand(t, (byte)r, plays * rungs[r] / rungTotal));
                }
            }

            files.Add(new FileDemand(t, AudioRendition, plays));
        }

        return files;
    }

    /// <summary>
    /// What a site's plays on a day are drawn from: each title's weight (Zipf popularity, premiere
    /// boost, drift, the site's taste; unnormalised, 0 before a release is out) and the site's mix
    /// over the video rungs (the configured shares, low rungs weighted by the site's factor).
    /// </summary>
    private (double[] TitleWeights, double[] RenditionMix) SiteDemand(int day, int site)
    {
        var titles = TitleCount(day);
        var weights = new double[titles];
        for (var t = 0; t < titles; t++)
        {
            var age = day - ReleaseDay[t];
            var weight = ReleaseDay[t] == int.MinValue ? BaseWeight[t]
                : age < 0 ? 0
                : BaseWeight[t] * (1 + (9 * Math.Pow(0.5, age / 4.0)));
            weights[t] = weight * Drift[t] * SiteTaste[site][t];
        }

        var mix = new double[RenditionNames.Length - 1];
        for (var r = 0; r < mix.Length; r++)
        {
            mix[r] = RenditionShares.GetValueOrDefault(RenditionNames[r]) * (r < 3 ? SiteLowRungFactor[site] : 1.0);
        }

        return (weights, mix);
    }

    private static int Pick(ReadOnlySpan<double> weights, double u)
    {
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        var x = u * total;
        for (var i = 0; i < weights.Length; i++)
        {
            x -= weights[i];
            if (x < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
