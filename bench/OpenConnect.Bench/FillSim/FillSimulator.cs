using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.FillController.Placement;

namespace OpenConnect.Bench.FillSim;

internal enum Strategy
{
    /// <summary>Pull-only caching: the eviction policy over the whole cache, no fill.</summary>
    Pull,

    /// <summary>The fill controller's forecast (<c>DemandModel</c>, from play history) and planner, plus pull.</summary>
    PushFill,

    /// <summary>
    /// Push fill's planner (same settings) given each file's true expected plays for the day
    /// (<see cref="Workload.ExpectedPlays"/>), plus pull: a perfect forecast of demand rates, which
    /// still cannot know which files the day's random plays touch. The bound on what any forecast
    /// can give this planner.
    /// </summary>
    KnownRates,

    /// <summary>The planner at fetch cost 0 given the day's realized reads of every file, plus pull.</summary>
    Oracle,
}

/// <summary>What one strategy measured at one cache size over the scored days.</summary>
internal sealed record StrategyResult(
    Strategy Strategy,
    double SizeFraction,
    long CacheBytesPerAppliance,
    long RequestedBytes,
    long ApplianceBytes,
    long FillBytes,
    long MaxNightlyFillBytes,
    double MeanNightlyFillBytes,
    long NightlyBudgetBytes,
    int NightsOverBudget,
    long PinnedBytes,
    double Churn,
    long[] MissBytes,
    long PeerPinnedMissBytes,
    double MeanPinnedBytes,
    long PinnedHitBytes,
    IReadOnlyList<(int Day, double Offload)> DailyOffload)
{
    /// <summary>Names of <see cref="MissBytes"/>' buckets: where the origin bytes went.</summary>
    public static readonly string[] MissKinds = ["release_day0", "release_days1_6", "pinned_title_other_rendition", "title_not_pinned"];

    /// <summary>
    /// Of the origin bytes, those whose file was pinned on another appliance of the same site at the
    /// time: a figure beside <see cref="MissBytes"/>, overlapping its buckets (a byte counted here is
    /// also in one of them). The appliance's parents are its site's peers before the origin, so on a
    /// real site these would be served by a peer; the simulation counts them as origin bytes.
    /// </summary>
    public long PeerPinnedMissBytes { get; init; } = PeerPinnedMissBytes;

    /// <summary>Mean bytes pinned per appliance after a scored night's fill: how much of the pin share the plan used.</summary>
    public double MeanPinnedBytes { get; init; } = MeanPinnedBytes;

    /// <summary>Of <see cref="ApplianceBytes"/>, those served from pinned files (the rest the pull cache served).</summary>
    public long PinnedHitBytes { get; init; } = PinnedHitBytes;

    /// <summary>Offload of each scored day (bytes served by the appliances / bytes requested that day).</summary>
    public IReadOnlyList<(int Day, double Offload)> DailyOffload { get; init; } = DailyOffload;

    public double Offload => RequestedBytes == 0 ? 0 : (double)ApplianceBytes / RequestedBytes;
}

/// <summary>
/// Replays the region's days for one strategy at one cache size. Each appliance runs the real
/// eviction policy (the appliance's default, S3-FIFO) over its whole cache; push strategies plan
/// into <see cref="FillSimOptions.PinShare"/> of the cache (the fill controller's
/// <c>Fill:SsdShare</c>) and pin what they fill exactly as the appliance does: a pinned object
/// leaves the policy and the policy shrinks by the pinned bytes (<see cref="IResizablePolicy.Resize"/>),
/// so room the plan leaves empty stays with pulled content. Unpinned files go back to the policy as
/// ordinary main-queue entries (<see cref="S3FifoPolicy.Restore"/>, as the appliance's unpin); a
/// planned file already in the policy is taken out of it (no fetch); the rest is fetched in the
/// planner's order until the night's budget (window × rate cap) runs out.
/// </summary>
internal sealed class FillSimulator
{
    private readonly Workload _w;
    private readonly FillSimOptions _o;
    private readonly Strategy _strategy;
    private readonly double _size;
    private readonly Appliance[][] _sites;
    private readonly FillPlanner _planner;
    private readonly SitePlacement?[] _previous;
    private readonly long _budget;
    private readonly List<ulong> _evicted = new(256);
    private readonly long[] _missBytes = new long[StrategyResult.MissKinds.Length];
    private long _peerPinnedMissBytes, _pinnedHitBytes;
    private double _pinnedSum;
    private long _requested, _served, _fill, _maxNight, _pinned;
    private readonly List<(int Day, double Offload)> _daily = [];
    private int _nights, _overBudget;
    private double _churn;

    public FillSimulator(Workload workload, FillSimOptions options, Strategy strategy, double size)
    {
        _w = workload;
        _o = options;
        _strategy = strategy;
        _size = size;
        // Push fill and known rates run the fill controller's planner with its settings (--fetch-cost
        // overrides the fetch cost): they differ only in the forecast. The oracle knows which files are read tomorrow, so fetching one costs it only
        // fill bandwidth inside the night's budget, which offload does not count: fetch cost 0.
        _planner = new FillPlanner(strategy == Strategy.Oracle ? new PlannerOptions { FetchCostRequests = 0 }
            : options.FetchCost is { } cost ? new PlannerOptions { FetchCostRequests = cost } : new PlannerOptions());
        CacheBytes = (long)(workload.CatalogBytesAtStart * size);
        var pinCapacity = strategy == Strategy.Pull ? 0 : (long)(CacheBytes * options.PinShare);
        _budget = (long)(options.RateMBs * 1e6 * options.WindowHours * 3600);
        _sites = new Appliance[workload.Sites][];
        for (var s = 0; s < workload.Sites; s++)
        {
            _sites[s] = Enumerable.Range(0, Workload.SiteAppliances[s])
                .Select(i => new Appliance($"isp{s}-oca{i}", s, pinCapacity, new S3FifoPolicy(CacheBytes, expectedObjects: 1 << 16)))
                .ToArray();
        }

        _previous = new SitePlacement?[workload.Sites];
    }

    public long CacheBytes { get; }

    public Strategy Strategy => _strategy;

    /// <summary>Runs one day: the night's fill (push strategies), then the day's plays.</summary>
    /// <param name="day">Day index.</param>
    /// <param name="plays">The day's plays.</param>
    /// <param name="placementInput">Per site, the forecast the planner gets (null for pull).</param>
    public void RunDay(int day, Play[] plays, IReadOnlyList<FileForecast>[]? placementInput)
    {
        var scored = day >= _o.Warmup;
        var (requestedBefore, servedBefore) = (_requested, _served);
        if (placementInput is not null)
        {
            for (var s = 0; s < _sites.Length; s++)
            {
                Fill(s, day, placementInput[s], scored);
            }
        }

        foreach (var play in plays)
        {
            var appliance = Route(play.Site, play.Title);
            for (var c = 0; c < play.Chunks; c++)
            {
                Request(appliance, play.Title, play.Rendition, c, day, scored);
                Request(appliance, play.Title, _w.AudioRendition, c, day, scored);
            }
        }

        if (scored && _requested > requestedBefore)
        {
            _daily.Add((day, (double)(_served - servedBefore) / (_requested - requestedBefore)));
        }
    }

    public StrategyResult Result() => new(
        _strategy, _size, CacheBytes, _requested, _served, _fill, _maxNight, _nights == 0 ? 0 : (double)_fill / _nights / _sites.Sum(s => s.Length),
        _budget, _overBudget, _pinned, _nights == 0 ? 0 : _churn / _nights, [.. _missBytes], _peerPinnedMissBytes,
        _nights == 0 ? 0 : _pinnedSum / _nights / _sites.Sum(s => s.Length), _pinnedHitBytes, [.. _daily]);

    private void Fill(int site, int day, IReadOnlyList<FileForecast> forecast, bool scored)
    {
        var appliances = _sites[site];
        var date = new DateOnly(2026, 1, 1).AddDays(day);
        var plan = _planner.Plan($"isp{site}", date, appliances.Select(a => new PlacementAppliance(a.Id, a.PinCapacity)).ToList(), forecast, _previous[site]);
        var actual = new Dictionary<string, IReadOnlyList<FileId>>(StringComparer.Ordinal);
        foreach (var appliance in appliances)
        {
            var files = plan.ByAppliance[appliance.Id];
            var wanted = new HashSet<(int, byte)>(files.Select(Key));
            foreach (var file in appliance.Pinned.Where(f => !wanted.Contains(f)).ToList())
            {
                Unpin(appliance, file);
            }

            long fetched = 0, replaced = 0;
            var kept = new List<FileId>(files.Count);
            foreach (var file in files)
            {
                var key = Key(file);
                if (appliance.Pinned.Contains(key))
                {
                    kept.Add(file);
                    continue;
                }

                var need = 0L;
                var chunks = _w.Chunks(key.Title);
                for (var c = 0; c < chunks; c++)
                {
                    if (!appliance.Policy.Contains(ObjectKey(key.Title, key.Rendition, c)))
                    {
                        need += _w.ChunkBytes(key.Title, key.Rendition, c);
                    }
                }

                if (fetched + need > _budget)
                {
                    continue;
                }

                fetched += need;
                replaced += _w.FileBytes(key.Title, key.Rendition);
                for (var c = 0; c < chunks; c++)
                {
                    appliance.Policy.Remove(ObjectKey(key.Title, key.Rendition, c));
                }

                Pin(appliance, key);
                kept.Add(file);
            }

            actual[appliance.Id] = kept;
            if (scored)
            {
                _fill += fetched;
                _maxNight = Math.Max(_maxNight, fetched);
                _overBudget += kept.Count < files.Count ? 1 : 0;
                _pinned = Math.Max(_pinned, appliance.PinnedBytes);
                _pinnedSum += appliance.PinnedBytes;
                _churn += appliance.PinnedBytes == 0 ? 0 : (double)replaced / appliance.PinnedBytes / appliances.Length / _sites.Length;
            }
        }

        if (scored)
        {
            _nights += site == 0 ? 1 : 0;
        }

        _previous[site] = new SitePlacement(plan.Site, plan.Day, actual);
    }

    private (int Title, byte Rendition) Key(FileId file) =>
        (int.Parse(file.Title.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture), (byte)Array.IndexOf(_w.RenditionNames, file.Rendition));

    private void Pin(Appliance appliance, (int Title, byte Rendition) file)
    {
        appliance.Pinned.Add(file);
        appliance.PinnedBytes += _w.FileBytes(file.Title, file.Rendition);
        appliance.PinnedTitles[file.Title] = appliance.PinnedTitles.GetValueOrDefault(file.Title) + 1;
        Resize(appliance);
    }

    /// <summary>The appliance's SSD policy capacity: the cache minus the pinned bytes.</summary>
    private void Resize(Appliance appliance)
    {
        _evicted.Clear();
        appliance.Policy.Resize(Math.Max(1, CacheBytes - appliance.PinnedBytes), _evicted);
    }

    private void Unpin(Appliance appliance, (int Title, byte Rendition) file)
    {
        appliance.Pinned.Remove(file);
        appliance.PinnedBytes -= _w.FileBytes(file.Title, file.Rendition);
        if (--appliance.PinnedTitles[file.Title] == 0)
        {
            appliance.PinnedTitles.Remove(file.Title);
        }

        // The policy grows back, then takes the objects as ordinary main entries (the bytes are on the SSD already).
        Resize(appliance);
        var chunks = _w.Chunks(file.Title);
        for (var c = 0; c < chunks; c++)
        {
            _evicted.Clear();
            appliance.Policy.Restore(ObjectKey(file.Title, file.Rendition, c), _w.ChunkBytes(file.Title, file.Rendition, c), _evicted);
        }
    }

    /// <summary>Steering: the first appliance of the title's ranking that holds it (pinned), else the first of the ranking.</summary>
    private Appliance Route(byte site, int title)
    {
        var appliances = _sites[site];
        var hash = OpenConnect.Contracts.Placement.Rendezvous.HashTitle(_w.Names[title]);
        Appliance? best = null, bestHolder = null;
        double bestScore = double.MinValue, bestHolderScore = double.MinValue;
        foreach (var appliance in appliances)
        {
            var score = OpenConnect.Contracts.Placement.Rendezvous.Score(hash, appliance.IdHash, appliance.PinCapacity + 1);
            if (score > bestScore)
            {
                (best, bestScore) = (appliance, score);
            }

            if (score > bestHolderScore && appliance.PinnedTitles.ContainsKey(title))
            {
                (bestHolder, bestHolderScore) = (appliance, score);
            }
        }

        return bestHolder ?? best!;
    }

    private void Request(Appliance appliance, int title, byte rendition, int chunk, int day, bool scored)
    {
        var bytes = _w.ChunkBytes(title, rendition, chunk);
        bool hit;
        if (appliance.Pinned.Contains((title, rendition)))
        {
            hit = true;
            _pinnedHitBytes += scored ? bytes : 0;
        }
        else
        {
            var key = ObjectKey(title, rendition, chunk);
            hit = appliance.Policy.Access(key);
            if (!hit)
            {
                _evicted.Clear();
                appliance.Policy.Admit(key, bytes, _evicted);
            }
        }

        if (scored)
        {
            _requested += bytes;
            _served += hit ? bytes : 0;
            if (!hit)
            {
                _missBytes[MissKind(appliance, title, day)] += bytes;
                if (PinnedOnPeer(appliance, title, rendition))
                {
                    _peerPinnedMissBytes += bytes;
                }
            }
        }
    }

    /// <summary>Which bucket of <see cref="StrategyResult.MissKinds"/> a miss falls in.</summary>
    private int MissKind(Appliance appliance, int title, int day)
    {
        var release = _w.ReleaseDay[title];
        if (release != int.MinValue && day - release < 7)
        {
            return day == release ? 0 : 1;
        }

        return appliance.PinnedTitles.ContainsKey(title) ? 2 : 3;
    }

    private bool PinnedOnPeer(Appliance appliance, int title, byte rendition)
    {
        foreach (var peer in _sites[appliance.Site])
        {
            if (peer != appliance && peer.Pinned.Contains((title, rendition)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A well-mixed 64-bit key per (title, rendition, chunk).</summary>
    private static ulong ObjectKey(int title, byte rendition, int chunk)
    {
        var x = ((ulong)(uint)title << 24) | ((ulong)rendition << 16) | (uint)chunk;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private sealed class Appliance(string id, int site, long pinCapacity, S3FifoPolicy policy)
    {
        public int Site { get; } = site;

        public string Id { get; } = id;

        public ulong IdHash { get; } = OpenConnect.Contracts.Placement.Rendezvous.HashId(id);

        public long PinCapacity { get; } = pinCapacity;

        public S3FifoPolicy Policy { get; } = policy;

        public HashSet<(int Title, byte Rendition)> Pinned { get; } = [];

        public Dictionary<int, int> PinnedTitles { get; } = [];

        public long PinnedBytes { get; set; }
    }
}
