using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>Parameters of the synthetic VOD workload. Defaults describe a regional appliance over about a week.</summary>
internal sealed record VodWorkload
{
    public int Seed { get; init; } = 42;

    /// <summary>Zipf exponent of title popularity (web and video traces: 0.6–1.2).</summary>
    public double Alpha { get; init; } = 0.8;

    public int Requests { get; init; } = 3_000_000;

    /// <summary>Titles in the catalog on day 0.</summary>
    public int Titles { get; init; } = 1_000;

    /// <summary>New titles per day; each enters among the <see cref="NewTitleTopRanks"/> most popular.</summary>
    public int NewTitlesPerDay { get; init; } = 10;

    public int NewTitleTopRanks { get; init; } = 50;

    /// <summary>Sessions per simulated day; with the default request count the trace spans about a week.</summary>
    public int SessionsPerDay { get; init; } = 1_500;
}

/// <summary>
/// Synthetic VOD trace: sessions pick a title by Zipf popularity, pick a rendition rung, and fetch a
/// prefix of the title segment by segment in real time (most viewers leave early), with occasional
/// ABR switches. New titles arrive daily near the top of the popularity ranking and push older ones
/// down. Concurrent sessions interleave, as they do at an edge. Fully determined by the seed.
/// </summary>
internal static class VodTraceGenerator
{
    /// <summary>Rendition ladder, kbps: ~150 kbps to 8 Mbps.</summary>
    private static readonly int[] LadderKbps = [150, 400, 1_000, 2_000, 4_500, 8_000];

    /// <summary>Share of sessions per rung: most viewers land on the middle-to-high rungs.</summary>
    private static readonly double[] RungShare = [0.04, 0.08, 0.18, 0.30, 0.25, 0.15];

    public static Trace Generate(VodWorkload w, string name)
    {
        var rng = new Random(w.Seed);
        var ranks = new List<int>(w.Titles + 1024); // ranks[r] = title id at popularity rank r
        for (var t = 0; t < w.Titles; t++)
        {
            ranks.Add(t);
        }

        var nextTitle = w.Titles;
        var zipf = ZipfCdf(ranks.Count, w.Alpha);
        var secondsPerSession = 86_400.0 / w.SessionsPerDay;
        var day = 0;
        var now = 0.0;
        var nextArrival = 0.0;

        var sessions = new List<Session>();
        var free = new Stack<int>();
        var due = new PriorityQueue<int, double>(); // session slot by time of its next segment request
        var builder = new TraceBuilder(w.Requests);

        while (builder.Count < w.Requests)
        {
            // Start every session that arrives before the next due segment request.
            if (due.Count == 0 || (due.TryPeek(out _, out var dueAt) && nextArrival <= dueAt))
            {
                now = nextArrival;
                nextArrival += -Math.Log(1 - rng.NextDouble()) * secondsPerSession;
                while (now >= (day + 1) * 86_400.0)
                {
                    day++;
                    for (var i = 0; i < w.NewTitlesPerDay; i++)
                    {
                        ranks.Insert(rng.Next(Math.Min(w.NewTitleTopRanks, ranks.Count)), nextTitle++);
                    }

                    zipf = ZipfCdf(ranks.Count, w.Alpha);
                }

                var session = StartSession(rng, ranks[Sample(zipf, rng.NextDouble())]);
                int slot;
                if (free.Count > 0)
                {
                    slot = free.Pop();
                    sessions[slot] = session;
                }
                else
                {
                    slot = sessions.Count;
                    sessions.Add(session);
                }

                due.Enqueue(slot, now);
                continue;
            }

            due.TryDequeue(out var s, out var at);
            var ses = sessions[s];
            var title = TitleInfo.Of(ses.Title);
            builder.Add((uint)at, SegmentKey(ses.Title, ses.Rung, ses.Segment), SegmentBytes(title, ses.Title, ses.Rung, ses.Segment), HintOf(ses.Title, ses.Rung, ses.Segment));

            ses.Segment++;
            ses.Remaining--;
            if (ses.Remaining == 0)
            {
                free.Push(s);
                continue;
            }

            // Occasional ABR switch to a neighbouring rung.
            if (rng.NextDouble() < 0.03)
            {
                ses.Rung = Math.Clamp(ses.Rung + (rng.Next(2) == 0 ? -1 : 1), 0, LadderKbps.Length - 1);
            }

            // The player fills its buffer with the first few segments, then fetches in real time.
            var gap = ses.Fetched++ < 3 ? 0.3 : title.SegmentSeconds;
            sessions[s] = ses;
            due.Enqueue(s, at + gap);
        }

        return builder.Build(name);
    }

    private static Session StartSession(Random rng, int title)
    {
        var info = TitleInfo.Of(title);
        var rung = 0;
        var u = rng.NextDouble();
        var acc = RungShare[0];
        while (rung < RungShare.Length - 1 && u > acc)
        {
            rung++;
            acc += RungShare[rung];
        }

        // Most viewers start at the beginning; some resume in the middle.
        var start = rng.NextDouble() < 0.9 ? 0 : rng.Next(info.Segments);
        var left = info.Segments - start;

        // 15% watch to the end; the rest leave after an exponentially distributed share (mean 10%).
        var watch = rng.NextDouble() < 0.15 ? left : 1 + (int)(-Math.Log(1 - rng.NextDouble()) * 0.10 * info.Segments);
        return new Session { Title = title, Rung = rung, Segment = start, Remaining = Math.Min(watch, left), Fetched = 0 };
    }

    /// <summary>What the appliance reads from the segment's path (<see cref="ContentHint.FromPath"/>): opaque title and rendition ids, and the segment number.</summary>
    public static ContentHint HintOf(int title, int rung, int segment) => new((ulong)title + 1, (ulong)rung + 1, segment);

    /// <summary>A 64-bit hash of (title, rung, segment), standing in for the hash of the segment's path.</summary>
    public static ulong SegmentKey(int title, int rung, int segment) =>
        Mix(((ulong)(uint)title << 24) | ((ulong)(uint)rung << 20) | (uint)segment);

    /// <summary>Bitrate × duration, scaled by the segment's scene complexity (shared by all rungs, ±25%).</summary>
    private static long SegmentBytes(TitleInfo title, int titleId, int rung, int segment)
    {
        var complexity = 0.75 + (0.5 * Unit(Mix(((ulong)(uint)titleId << 20) | (uint)segment | (1UL << 60))));
        return Math.Max(1, (long)(LadderKbps[rung] * 1000.0 / 8 * title.SegmentSeconds * complexity));
    }

    private static double[] ZipfCdf(int n, double alpha)
    {
        var cdf = new double[n];
        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, alpha);
            cdf[i] = sum;
        }

        for (var i = 0; i < n; i++)
        {
            cdf[i] /= sum;
        }

        return cdf;
    }

    private static int Sample(double[] cdf, double u)
    {
        var i = Array.BinarySearch(cdf, u);
        return Math.Min(i >= 0 ? i : ~i, cdf.Length - 1);
    }

    private static ulong Mix(ulong x)
    {
        // SplitMix64 finaliser: a bijection, so distinct segments never collide.
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private static double Unit(ulong x) => (x >> 11) * (1.0 / (1UL << 53));

    private struct Session
    {
        public int Title;
        public int Rung;
        public int Segment;
        public int Remaining;
        public int Fetched;
    }

    /// <summary>A title's length and segment duration, derived from its id so the catalog needs no storage.</summary>
    private readonly record struct TitleInfo(int Segments, int SegmentSeconds)
    {
        public static TitleInfo Of(int title)
        {
            var h = Mix((ulong)(uint)title | (1UL << 62));
            var kind = Unit(h);
            var r = Unit(Mix(h));

            // 30% shorts (3–15 min), 35% episodes (20–50 min), 35% films (80–150 min).
            var minutes = kind < 0.30 ? 3 + (12 * r) : kind < 0.65 ? 20 + (30 * r) : 80 + (70 * r);
            var segmentSeconds = 2 + (int)(Mix(h ^ 0xABCDEF) % 3); // 2, 3 or 4 s
            return new TitleInfo(Math.Max(1, (int)(minutes * 60 / segmentSeconds)), segmentSeconds);
        }
    }
}
