namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Admission and eviction that know video. Every object's value is its estimated request rate, built
/// from what the path says (<see cref="ContentHint"/>) rather than from the object's own history:
/// <list type="bullet">
/// <item>Title: requests are counted per title, so a segment nobody has asked for yet is valued by how
/// much its title is watched. The title table is the policy's memory of evicted and bypassed objects:
/// a few thousand titles instead of a ghost entry per segment.</item>
/// <item>Position: per title, requests are counted in octaves of the segment number (0–1, 2–3, 4–7, …);
/// a segment's rate is its octave's count over the octave's width. Sessions start at the beginning and
/// abandon, so early segments count more, at the abandonment curve this title actually has.</item>
/// <item>Rendition: the title's rate is multiplied by the share of requests its rendition gets at this
/// site (the site's rung mix), learned online.</item>
/// </list>
/// Counters decay with a half-life of <see cref="VideoPolicyOptions.HalfLife"/> × resident objects
/// requests (recency), without touching every counter: each request adds a weight that grows by
/// 2^(1/half-life) per request, and all counters are rescaled together when the weight gets large.
/// <para>
/// Two tiers, as in <see cref="S3FifoPolicy"/>: a new object enters a FIFO probation queue
/// (<see cref="VideoPolicyOptions.SmallFraction"/> of the bytes, RAM only, no SSD write). When it reaches
/// the head it is written to main (SSD) only if its estimated rate beats that of what it would displace
/// there (<see cref="VideoPolicyOptions.AdmitRatio"/>); otherwise it leaves, and its title's counters
/// remember it. Main evicts by sampling <see cref="VideoPolicyOptions.SampleSize"/> resident objects and
/// dropping the lowest rate (as Redis and LHD do), so a request costs a few dictionary lookups and an
/// eviction a few dozen array reads.
/// </para>
/// A <see cref="TitlePrior"/> (the fill controller's per-title forecast, delivered with the night manifest)
/// adds pseudo-counts to each title's position counters: <see cref="VideoPolicyOptions.PriorWeight"/> × the
/// title's forecast share × all requests counted in the current window, so a title the policy has not yet
/// seen (a release) or seen little of starts from the forecast rather than from nothing.
/// <para>
/// Objects offered without a hint are their own group at position 0 with no rendition: the policy then
/// degrades to a decayed-frequency (LFU-like) policy with sampled eviction.
/// </para>
/// Not thread-safe: the cache serialises calls.
/// </summary>
public sealed class VideoAwarePolicy : IContentAwarePolicy, ITieredPolicy
{
    /// <summary>Position octaves tracked per title; segment numbers beyond 2^15 share the last one.</summary>
    public const int Octaves = 16;

    /// <summary>Distinct renditions tracked; slot 0 is "no rendition", the last slot collects any beyond.</summary>
    private const int MaxRenditions = 64;

    /// <summary>A group untouched for this many half-lives (and holding no resident object) is forgotten.</summary>
    private const double ForgetAfterHalfLives = 12;

    private const double RescaleAbove = 1e30;

    private const byte InSmall = 0;
    private const byte InMain = 1;
    private const byte InGhost = 2;

    private readonly VideoPolicyOptions _options;
    private readonly Dictionary<ulong, int> _index;
    private Node[] _nodes;
    private int _nodesUsed;
    private int _freeNode = -1;
    // Main's objects, dense, for uniform sampling. Each entry carries what its value needs, so a sample
    // reads one entry and the (small, cache-resident) title counters, not the node array.
    private MainEntry[] _main;
    private int _mainCount;
    private long _mainBytes;
    private long _mainCapacity;
    private long _smallCapacity;
    private NodeList _small = NodeList.Empty; // probation, RAM only; head = oldest
    private NodeList _ghost = NodeList.Empty; // keys that left probation unwritten
    private long _ghostCapacity;

    private readonly Dictionary<ulong, int> _groupIndex = [];
    private Group[] _groups = new Group[256];
    private double[] _groupOctaves; // Octaves per group, when UseTitle
    private int _groupsUsed;
    private int _freeGroup = -1;
    private int _liveGroups;

    private readonly Dictionary<ulong, int> _renditionIndex = [];
    private readonly double[] _renditionCount = new double[MaxRenditions];
    private double _renditionTotal;
    private readonly double[] _positionCount = new double[Octaves];

    private TitlePrior? _prior;
    private double _priorScale; // PriorWeight × _mass, kept in step with _mass
    private double _mass; // decayed sum of every recorded request: the window the counters cover

    private double _weight = 1;
    private double _growth;
    private long _requests;
    private long _nextSweep;
    private ulong _rng = 0x9E3779B97F4A7C15UL;

    public VideoAwarePolicy(long capacityBytes, VideoPolicyOptions? options = null, int expectedObjects = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        options ??= new VideoPolicyOptions();
        options.Validate();
        _options = options;
        SetCapacity(capacityBytes);
        expectedObjects = Math.Max(expectedObjects, 16);
        _index = new Dictionary<ulong, int>(expectedObjects);
        _nodes = new Node[expectedObjects];
        _main = new MainEntry[expectedObjects];
        _groupOctaves = options.UseTitle ? new double[_groups.Length * Octaves] : [];
        _renditionIndex.Add(0, 0);
        UpdateGrowth();
        _nextSweep = 4096;
    }

    public VideoPolicyOptions Options => _options;

    public long CapacityBytes { get; private set; }

    public long UsedBytes => _small.Bytes + _mainBytes;

    public int Count => _small.Count + _mainCount;

    /// <summary>Bytes on probation: the RAM-only tier.</summary>
    public long SmallBytes => _small.Bytes;

    public long SmallCapacityBytes => _smallCapacity;

    /// <summary>Bytes in main: the SSD tier.</summary>
    public long MainBytes => _mainBytes;

    /// <summary>Bytes that entered main (promotions and restores excluded): the SSD write volume.</summary>
    public long BytesAdmittedToMain { get; private set; }

    public long ObjectsAdmittedToMain { get; private set; }

    /// <summary>Titles (or, for objects without a hint, objects) whose counters are kept.</summary>
    public int GroupCount => _liveGroups;

    public bool Contains(ulong key) => _index.TryGetValue(key, out var node) && _nodes[node].Queue != InGhost;

    public bool IsInMain(ulong key) => _index.TryGetValue(key, out var node) && _nodes[node].Queue == InMain;

    public int GhostCount => _ghost.Count;

    public bool Access(ulong key)
    {
        if (!_index.TryGetValue(key, out var node) || _nodes[node].Queue == InGhost)
        {
            return false;
        }

        Tick();
        ref var n = ref _nodes[node];
        n.Hit = true;
        Record(n.Group, n.Octave, n.Rendition);
        return true;
    }

    /// <summary>
    /// Counts a request the policy is not asked to cache: a hit on an object outside the policy (a fill-pinned
    /// file), so the title's counters still see its audience. Objects are not touched.
    /// </summary>
    public void Observe(ContentHint hint)
    {
        if (!hint.HasTitle || !_options.UseTitle)
        {
            return;
        }

        Tick();
        Record(GroupOf(0, hint), OctaveOf(hint.Segment), RenditionOf(hint.Rendition));
    }

    public bool Admit(ulong key, long size, List<ulong> evicted) => Admit(key, size, ContentHint.None, evicted, null);

    public bool Admit(ulong key, long size, List<ulong> evicted, List<ulong>? promoted) => Admit(key, size, ContentHint.None, evicted, promoted);

    public bool Admit(ulong key, long size, ContentHint hint, List<ulong> evicted, List<ulong>? promoted = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var proven = false;
        if (_index.TryGetValue(key, out var held))
        {
            switch (_nodes[held].Queue)
            {
                case InMain:
                    return true;
                case InSmall:
                    {
                        // Offered again while on probation: the cache missed it in RAM, so its body is at hand
                        // now and may not be later. Decide its promotion now rather than at the head of the queue.
                        Tick();
                        ref var n = ref _nodes[held];
                        Record(n.Group, n.Octave, n.Rendition);
                        n.Hit = true;
                        Unlink(ref _small, held);
                        return Promote(held, evicted, promoted) || ReturnToSmall(held, evicted, promoted);
                    }

                default:
                    // A ghost hit: requested again after leaving probation unwritten.
                    proven = true;
                    Unlink(ref _ghost, held);
                    Drop(held);
                    break;
            }
        }

        Tick();
        var group = GroupOf(key, hint);
        var octave = OctaveOf(hint.Segment);
        var rendition = RenditionOf(hint.Rendition);
        Record(group, octave, rendition);
        if (size > CapacityBytes)
        {
            return false;
        }

        if (proven || size > _smallCapacity)
        {
            // Proven reuse goes straight to main, as does an object too large for probation (as a guess),
            // if it is worth what it displaces there.
            var ratio = proven ? _options.AdmitRatio : _options.UnprovenAdmitRatio;
            if (size <= _mainCapacity && MakeRoomInMain(size, Value(group, octave, rendition), ratio, evicted))
            {
                AddToMain(NewNode(key, size, group, octave, rendition));
                NoteAdmittedToMain(key, size, promoted);
                return true;
            }

            if (size > _smallCapacity)
            {
                RememberInGhost(key, size);
                return false;
            }
        }

        var node = NewNode(key, size, group, octave, rendition);
        _nodes[node].Hit = proven;
        while (_small.Bytes + size > _smallCapacity && _small.Count > 0)
        {
            EvictSmall(evicted, promoted);
        }

        Link(ref _small, node);
        return true;
    }

    public bool Restore(ulong key, long size, List<ulong> evicted) => Restore(key, size, ContentHint.None, evicted);

    /// <summary>
    /// As <see cref="Restore(ulong, long, List{ulong})"/>, keeping the object's title, position and rendition
    /// (read from the stored path) so it is valued like any other after a restart instead of as a lone object.
    /// </summary>
    public bool Restore(ulong key, long size, ContentHint hint, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (_index.TryGetValue(key, out var held))
        {
            if (_nodes[held].Queue == InMain)
            {
                return true;
            }

            var queue = _nodes[held].Queue;
            Unlink(ref queue == InSmall ? ref _small : ref _ghost, held);
            Drop(held);
        }

        if (size > _mainCapacity)
        {
            return false;
        }

        // A stored object comes back without admission (it is on SSD already) and without a request to count.
        MakeRoomInMain(size, double.PositiveInfinity, 1, evicted);
        AddToMain(NewNode(key, size, GroupOf(key, hint), OctaveOf(hint.Segment), RenditionOf(hint.Rendition)));
        return true;
    }

    public bool Remove(ulong key)
    {
        if (!_index.TryGetValue(key, out var node))
        {
            return false;
        }

        // An explicit removal (purge, failed integrity check) also forgets a ghost entry: it must not fast-track.
        var queue = _nodes[node].Queue;
        if (queue == InMain)
        {
            RemoveFromMain(node);
        }
        else
        {
            Unlink(ref queue == InSmall ? ref _small : ref _ghost, node);
        }

        Drop(node);
        return queue != InGhost;
    }

    /// <summary>
    /// Changes the capacity, keeping the probation share: a shrink drops probation objects from the
    /// oldest (without promoting them: they are not on SSD) and then the lowest-valued main objects.
    /// </summary>
    public void Resize(long capacityBytes, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        SetCapacity(capacityBytes);
        while (_small.Bytes > _smallCapacity && _small.Count > 0)
        {
            var head = _small.Head;
            evicted.Add(_nodes[head].Key);
            Unlink(ref _small, head);
            Drop(head);
        }

        MakeRoomInMain(0, double.PositiveInfinity, 1, evicted);
        TrimGhost();
    }

    /// <summary>The forecast in use; null when none was delivered.</summary>
    public TitlePrior? Prior => _prior;

    /// <summary>
    /// Replaces the forecast prior (null removes it). Cheap: one lookup per title the policy currently tracks;
    /// the cache calls it when a night manifest arrives, between requests.
    /// </summary>
    public void SetPrior(TitlePrior? prior)
    {
        _prior = prior is { TotalRequests: > 0 } ? prior : null;
        for (var g = 0; g < _groupsUsed; g++)
        {
            ref var group = ref _groups[g];
            if (group.Refs >= 0)
            {
                group.PriorRow = group.Titled && _prior is not null ? _prior.RowOf(group.Id) : -1;
            }
        }

        _priorScale = _prior is null ? 0 : _options.PriorWeight * _mass;
    }

    /// <summary>The estimated request rate of a resident object, in the policy's current units (for tests and diagnostics); 0 when not resident.</summary>
    public double ValueOf(ulong key)
    {
        if (!_index.TryGetValue(key, out var node))
        {
            return 0;
        }

        ref var n = ref _nodes[node];
        return Value(n.Group, n.Octave, n.Rendition);
    }

    /// <summary>Octave of a segment number: 0 for segments 0–1 and for files without a number, then 1 + floor(log2(n)) - 1.</summary>
    public static int OctaveOf(int segment) =>
        segment < 2 ? 0 : Math.Min(Octaves - 1, 31 - int.LeadingZeroCount(segment));

    /// <summary>How many segment numbers an octave spans (2 for octave 0: segments 0 and 1).</summary>
    public static double OctaveWidth(int octave) => octave == 0 ? 2 : 1 << octave;

    /// <summary>
    /// Estimated request rate: the title's requests per segment at this position (or the group's total
    /// when position is off), times the rendition's share of requests.
    /// </summary>
    private double Value(int group, int octave, int rendition)
    {
        double value;
        if (_options.UseTitle && _options.UsePosition)
        {
            // Requests per segment here are sessions that passed this point. One of them is (or just was) the
            // session that brought the object in, which will not ask again: discount it, so a title watched
            // once is not valued like a title with a steady audience.
            var count = _groupOctaves[(group * Octaves) + octave];
            var row = _groups[group].PriorRow;
            if (row >= 0)
            {
                count += _priorScale * _prior!.Share(row, octave);
            }

            var perSegment = count / OctaveWidth(octave);
            value = Math.Max(perSegment - (_weight * _options.SessionDiscount), perSegment * 1e-3);
        }
        else
        {
            value = _groups[group].Total;
            if (_groups[group].PriorRow is var row and >= 0)
            {
                value += _priorScale * _prior!.RowShare(row);
            }
            if (_options.UsePosition && _positionCount[0] > 0)
            {
                // Without titles, the site-wide curve: requests per segment number at this octave relative to the first.
                value *= _positionCount[octave] / OctaveWidth(octave) / (_positionCount[0] / OctaveWidth(0));
            }
        }

        if (_options.UseRendition && rendition != 0 && _renditionTotal > 0)
        {
            value *= _renditionCount[rendition] / _renditionTotal;
        }

        return value;
    }

    private void Record(int group, int octave, int rendition)
    {
        var w = _weight;
        _mass += w;
        _priorScale = _prior is null ? 0 : _options.PriorWeight * _mass;
        _groups[group].Total += w;
        if (_options.UseTitle)
        {
            _groupOctaves[(group * Octaves) + octave] += w;
        }

        _positionCount[octave] += w;
        if (rendition != 0)
        {
            _renditionCount[rendition] += w;
            _renditionTotal += w;
        }
    }

    private int SampleVictim(out double value)
    {
        var best = -1;
        value = double.PositiveInfinity;
        for (var i = 0; i < _options.SampleSize; i++)
        {
            ref var e = ref _main[(int)((uint)NextRandom() % (uint)_mainCount)];
            var v = Value(e.Group, e.Octave, e.Rendition);
            if (v < value)
            {
                value = v;
                best = e.Node;
            }
        }

        return best;
    }

    /// <summary>The value at quantile <paramref name="q"/> of <see cref="VideoPolicyOptions.SampleSize"/> sampled main objects.</summary>
    private double SampleQuantile(double q)
    {
        Span<double> values = stackalloc double[_options.SampleSize];
        for (var i = 0; i < values.Length; i++)
        {
            ref var e = ref _main[(int)((uint)NextRandom() % (uint)_mainCount)];
            values[i] = Value(e.Group, e.Octave, e.Rendition);
        }

        values.Sort();
        return values[Math.Min(values.Length - 1, (int)(q * values.Length))];
    }

    private ulong NextRandom()
    {
        // xorshift64*: deterministic, so replays of a trace are repeatable.
        _rng ^= _rng >> 12;
        _rng ^= _rng << 25;
        _rng ^= _rng >> 27;
        return (_rng * 2685821657736338717UL) >> 32;
    }

    private void Tick()
    {
        _requests++;
        _weight *= _growth;
        if ((_requests & 1023) == 0)
        {
            UpdateGrowth();
        }

        if (_weight > RescaleAbove)
        {
            Rescale(1 / _weight);
        }

        if (_requests >= _nextSweep)
        {
            Sweep();
        }
    }

    /// <summary>The half-life follows the number of resident objects: it is measured in turnovers of the cache.</summary>
    private void UpdateGrowth() => _growth = Math.Pow(2, 1 / (_options.HalfLife * Math.Max(Count, 64)));

    private void Rescale(double factor)
    {
        for (var g = 0; g < _groupsUsed; g++)
        {
            _groups[g].Total *= factor;
        }

        for (var i = 0; i < _groupOctaves.Length; i++)
        {
            _groupOctaves[i] *= factor;
        }

        for (var i = 0; i < MaxRenditions; i++)
        {
            _renditionCount[i] *= factor;
        }

        for (var i = 0; i < Octaves; i++)
        {
            _positionCount[i] *= factor;
        }

        _renditionTotal *= factor;
        _weight *= factor;
        _mass *= factor;
        _priorScale *= factor;
    }

    /// <summary>Forgets groups that hold no resident object and have not been requested for many half-lives; amortised O(1).</summary>
    private void Sweep()
    {
        var floor = _weight * Math.Pow(2, -ForgetAfterHalfLives);
        for (var g = 0; g < _groupsUsed; g++)
        {
            ref var group = ref _groups[g];
            if (group.Refs == 0 && group.Total < floor)
            {
                _groupIndex.Remove(group.Id);
                group.Refs = -1;
                group.Total = 0;
                group.NextFree = _freeGroup;
                _freeGroup = g;
                _liveGroups--;
            }
        }

        _nextSweep = _requests + Math.Max(4096, 2L * _groupsUsed);
    }

    private int GroupOf(ulong key, ContentHint hint)
    {
        // Objects without a title are their own group; the tag keeps their ids apart from title hashes.
        var titled = _options.UseTitle && hint.HasTitle;
        var id = titled ? hint.Title : (key ^ 0x5A5A_5A5A_5A5A_5A5AUL) | 1UL << 63;
        if (_groupIndex.TryGetValue(id, out var g))
        {
            return g;
        }

        if (_freeGroup >= 0)
        {
            g = _freeGroup;
            _freeGroup = _groups[g].NextFree;
        }
        else
        {
            if (_groupsUsed == _groups.Length)
            {
                Array.Resize(ref _groups, _groups.Length * 2);
                if (_options.UseTitle)
                {
                    Array.Resize(ref _groupOctaves, _groups.Length * Octaves);
                }
            }

            g = _groupsUsed++;
        }

        _groups[g] = new Group { Id = id, NextFree = -1, Titled = titled, PriorRow = titled && _prior is not null ? _prior.RowOf(id) : -1 };
        if (_options.UseTitle)
        {
            Array.Clear(_groupOctaves, g * Octaves, Octaves);
        }

        _groupIndex.Add(id, g);
        _liveGroups++;
        return g;
    }

    private int RenditionOf(ulong rendition)
    {
        if (_renditionIndex.TryGetValue(rendition, out var slot))
        {
            return slot;
        }

        // Past the table's size, further renditions share the last slot.
        slot = Math.Min(_renditionIndex.Count, MaxRenditions - 1);
        if (_renditionIndex.Count < MaxRenditions)
        {
            _renditionIndex.Add(rendition, slot);
        }

        return slot;
    }

    private void SetCapacity(long capacityBytes)
    {
        CapacityBytes = capacityBytes;
        _smallCapacity = Math.Max(1, (long)(capacityBytes * _options.SmallFraction));
        _mainCapacity = Math.Max(0, capacityBytes - _smallCapacity);
        _ghostCapacity = (long)(capacityBytes * _options.GhostFraction);
    }

    /// <summary>Takes the head of probation: to main if it is worth its write there, else out of the cache.</summary>
    private void EvictSmall(List<ulong> evicted, List<ulong>? promoted)
    {
        var node = _small.Head;
        Unlink(ref _small, node);
        if (Promote(node, evicted, promoted))
        {
            return;
        }

        // Not worth a write: out of the cache, remembered in the ghost (its title's counters remember it too).
        var key = _nodes[node].Key;
        var size = _nodes[node].Size;
        evicted.Add(key);
        Drop(node);
        RememberInGhost(key, size);
    }

    /// <summary>Moves an unlinked probation node to main if its rate beats what it displaces; false (node untouched) if not.</summary>
    private bool Promote(int node, List<ulong> evicted, List<ulong>? promoted)
    {
        ref var n = ref _nodes[node];
        var ratio = n.Hit ? _options.AdmitRatio : _options.UnprovenAdmitRatio;
        if (n.Size > _mainCapacity || !MakeRoomInMain(n.Size, Value(n.Group, n.Octave, n.Rendition), ratio, evicted))
        {
            return false;
        }

        AddToMain(node);
        NoteAdmittedToMain(_nodes[node].Key, _nodes[node].Size, promoted);
        return true;
    }

    /// <summary>Puts an unlinked probation node back at the tail of probation (it was offered again but not promoted).</summary>
    private bool ReturnToSmall(int node, List<ulong> evicted, List<ulong>? promoted)
    {
        while (_small.Bytes + _nodes[node].Size > _smallCapacity && _small.Count > 0)
        {
            EvictSmall(evicted, promoted);
        }

        Link(ref _small, node);
        return true;
    }

    /// <summary>
    /// Evicts the lowest-valued sampled main objects until <paramref name="size"/> more bytes fit, as long as
    /// each victim's rate times <paramref name="ratio"/> is below <paramref name="value"/>.
    /// False when it stopped short; victims taken so far stay out (they were worth less still).
    /// </summary>
    private bool MakeRoomInMain(long size, double value, double ratio, List<ulong> evicted)
    {
        if (_mainBytes + size > _mainCapacity && _mainCount > 0 && _options.AdmitQuantile > 0 && !double.IsPositiveInfinity(value)
            && value < SampleQuantile(_options.AdmitQuantile) * ratio)
        {
            // Below the bar of what main typically holds: a write would likely be evicted before it pays off.
            return false;
        }

        while (_mainBytes + size > _mainCapacity && _mainCount > 0)
        {
            var victim = SampleVictim(out var victimValue);
            if (value < victimValue * (_options.AdmitQuantile > 0 ? 1 : ratio))
            {
                return false;
            }

            evicted.Add(_nodes[victim].Key);
            RemoveFromMain(victim);
            Drop(victim);
        }

        return _mainBytes + size <= _mainCapacity;
    }

    private void NoteAdmittedToMain(ulong key, long size, List<ulong>? promoted)
    {
        BytesAdmittedToMain += size;
        ObjectsAdmittedToMain++;
        promoted?.Add(key);
    }

    private int NewNode(ulong key, long size, int group, int octave, int rendition)
    {
        int node;
        if (_freeNode >= 0)
        {
            node = _freeNode;
            _freeNode = _nodes[node].Next;
        }
        else
        {
            if (_nodesUsed == _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
            }

            node = _nodesUsed++;
        }

        _nodes[node] = new Node { Key = key, Size = size, Group = group, Octave = (byte)octave, Rendition = (byte)rendition, Prev = -1, Next = -1, Dense = -1 };
        _index.Add(key, node);
        if (group >= 0)
        {
            _groups[group].Refs++;
        }

        return node;
    }

    /// <summary>Forgets a node that is on neither list.</summary>
    private void Drop(int node)
    {
        ref var n = ref _nodes[node];
        _index.Remove(n.Key);
        if (n.Group >= 0)
        {
            _groups[n.Group].Refs--;
        }

        n.Next = _freeNode; // the free list threads through Next
        _freeNode = node;
    }

    private void AddToMain(int node)
    {
        if (_mainCount == _main.Length)
        {
            Array.Resize(ref _main, _main.Length * 2);
        }

        ref var n = ref _nodes[node];
        n.Queue = InMain;
        n.Hit = false;
        n.Dense = _mainCount;
        _main[_mainCount++] = new MainEntry { Node = node, Group = n.Group, Octave = n.Octave, Rendition = n.Rendition };
        _mainBytes += n.Size;
    }

    private void RemoveFromMain(int node)
    {
        ref var n = ref _nodes[node];
        var last = _main[--_mainCount];
        _main[n.Dense] = last;
        _nodes[last.Node].Dense = n.Dense;
        n.Dense = -1;
        n.Queue = InSmall;
        _mainBytes -= n.Size;
    }

    private void RememberInGhost(ulong key, long size)
    {
        if (_ghostCapacity == 0)
        {
            return;
        }

        var node = NewNode(key, size, -1, 0, 0);
        _nodes[node].Queue = InGhost;
        Link(ref _ghost, node);
        TrimGhost();
    }

    private void TrimGhost()
    {
        while (_ghost.Bytes > _ghostCapacity && _ghost.Count > 0)
        {
            var oldest = _ghost.Head;
            Unlink(ref _ghost, oldest);
            Drop(oldest);
        }
    }

    private void Link(ref NodeList list, int node)
    {
        ref var n = ref _nodes[node];
        n.Prev = list.Tail;
        n.Next = -1;
        if (list.Tail < 0)
        {
            list.Head = node;
        }
        else
        {
            _nodes[list.Tail].Next = node;
        }

        list.Tail = node;
        list.Bytes += n.Size;
        list.Count++;
    }

    private void Unlink(ref NodeList list, int node)
    {
        ref var n = ref _nodes[node];
        if (n.Prev < 0)
        {
            list.Head = n.Next;
        }
        else
        {
            _nodes[n.Prev].Next = n.Next;
        }

        if (n.Next < 0)
        {
            list.Tail = n.Prev;
        }
        else
        {
            _nodes[n.Next].Prev = n.Prev;
        }

        n.Prev = -1;
        n.Next = -1;
        list.Bytes -= n.Size;
        list.Count--;
    }

    private struct MainEntry
    {
        public int Node;
        public int Group;
        public byte Octave;
        public byte Rendition;
    }

    private struct NodeList
    {
        public int Head;
        public int Tail;
        public long Bytes;
        public int Count;

        public static NodeList Empty => new() { Head = -1, Tail = -1 };
    }

    private struct Node
    {
        public ulong Key;
        public long Size;
        public int Group;
        public int Prev; // probation list
        public int Next; // probation list, or the free list
        public int Dense; // slot in _main
        public byte Octave;
        public byte Rendition;
        public byte Queue;

        /// <summary>Requested again while on probation.</summary>
        public bool Hit;
    }

    private struct Group
    {
        public ulong Id;
        public double Total;
        public int Refs;
        public int NextFree;
        public int PriorRow; // -1: no forecast applies
        public bool Titled;
    }
}
