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
/// Eviction samples <see cref="VideoPolicyOptions.SampleSize"/> resident objects and drops the lowest
/// rate (as Redis and LHD do), so a request costs a few dictionary lookups and an eviction a few dozen
/// array reads. A missed object is admitted only if it is worth more than what it would displace:
/// otherwise it is served without being stored, which is also what keeps SSD writes down. Every admission
/// is a write (there is no RAM probation queue).
/// </para>
/// Objects offered without a hint are their own group at position 0 with no rendition: the policy then
/// degrades to a decayed-frequency (LFU-like) policy with sampled eviction.
/// Not thread-safe: the cache serialises calls.
/// </summary>
public sealed class VideoAwarePolicy : IContentAwarePolicy
{
    /// <summary>Position octaves tracked per title; segment numbers beyond 2^15 share the last one.</summary>
    public const int Octaves = 16;

    /// <summary>Distinct renditions tracked; slot 0 is "no rendition", the last slot collects any beyond.</summary>
    private const int MaxRenditions = 64;

    /// <summary>A group untouched for this many half-lives (and holding no resident object) is forgotten.</summary>
    private const double ForgetAfterHalfLives = 12;

    private const double RescaleAbove = 1e30;

    private readonly VideoPolicyOptions _options;
    private readonly Dictionary<ulong, int> _index;
    private Node[] _nodes;
    private int _nodesUsed;
    private int _freeNode = -1;
    private int[] _resident; // node ids, dense, for uniform sampling
    private int _residentCount;

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
        CapacityBytes = capacityBytes;
        expectedObjects = Math.Max(expectedObjects, 16);
        _index = new Dictionary<ulong, int>(expectedObjects);
        _nodes = new Node[expectedObjects];
        _resident = new int[expectedObjects];
        _groupOctaves = options.UseTitle ? new double[_groups.Length * Octaves] : [];
        _renditionIndex.Add(0, 0);
        UpdateGrowth();
        _nextSweep = 4096;
    }

    public VideoPolicyOptions Options => _options;

    public long CapacityBytes { get; private set; }

    public long UsedBytes { get; private set; }

    public int Count => _residentCount;

    /// <summary>Bytes admitted since creation: every admission is a write to the tier.</summary>
    public long BytesAdmitted { get; private set; }

    public long ObjectsAdmitted { get; private set; }

    /// <summary>Titles (or, for objects without a hint, objects) whose counters are kept.</summary>
    public int GroupCount => _liveGroups;

    public bool Contains(ulong key) => _index.ContainsKey(key);

    public bool Access(ulong key)
    {
        if (!_index.TryGetValue(key, out var node))
        {
            return false;
        }

        Tick();
        ref var n = ref _nodes[node];
        Record(n.Group, n.Octave, n.Rendition);
        return true;
    }

    public bool Admit(ulong key, long size, List<ulong> evicted) => Admit(key, size, ContentHint.None, evicted);

    public bool Admit(ulong key, long size, ContentHint hint, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (_index.ContainsKey(key))
        {
            return true;
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

        var value = Value(group, octave, rendition);
        while (UsedBytes + size > CapacityBytes)
        {
            var victim = SampleVictim(out var victimValue);
            if (value < victimValue * _options.AdmitRatio)
            {
                // Worth less than what it would displace: serve it without storing it. Victims already
                // taken in this call stay out; they were worth less still.
                return false;
            }

            evicted.Add(_nodes[victim].Key);
            Drop(victim);
        }

        Insert(key, size, group, octave, rendition);
        BytesAdmitted += size;
        ObjectsAdmitted++;
        return true;
    }

    public bool Remove(ulong key)
    {
        if (!_index.TryGetValue(key, out var node))
        {
            return false;
        }

        Drop(node);
        return true;
    }

    public void Resize(long capacityBytes, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
        while (UsedBytes > CapacityBytes && _residentCount > 0)
        {
            var victim = SampleVictim(out _);
            evicted.Add(_nodes[victim].Key);
            Drop(victim);
        }
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
            value = _groupOctaves[(group * Octaves) + octave] / OctaveWidth(octave);
        }
        else
        {
            value = _groups[group].Total;
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
            var node = _resident[(int)((uint)NextRandom() % (uint)_residentCount)];
            ref var n = ref _nodes[node];
            var v = Value(n.Group, n.Octave, n.Rendition);
            if (v < value)
            {
                value = v;
                best = node;
            }
        }

        return best;
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
    private void UpdateGrowth() => _growth = Math.Pow(2, 1 / (_options.HalfLife * Math.Max(_residentCount, 64)));

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
        var id = _options.UseTitle && hint.HasTitle ? hint.Title : (key ^ 0x5A5A_5A5A_5A5A_5A5AUL) | 1UL << 63;
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

        _groups[g] = new Group { Id = id, NextFree = -1 };
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

    private void Insert(ulong key, long size, int group, int octave, int rendition)
    {
        int node;
        if (_freeNode >= 0)
        {
            node = _freeNode;
            _freeNode = _nodes[node].Dense;
        }
        else
        {
            if (_nodesUsed == _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
            }

            node = _nodesUsed++;
        }

        if (_residentCount == _resident.Length)
        {
            Array.Resize(ref _resident, _resident.Length * 2);
        }

        _nodes[node] = new Node { Key = key, Size = size, Group = group, Octave = (byte)octave, Rendition = (byte)rendition, Dense = _residentCount };
        _resident[_residentCount++] = node;
        _index.Add(key, node);
        _groups[group].Refs++;
        UsedBytes += size;
    }

    private void Drop(int node)
    {
        ref var n = ref _nodes[node];
        _index.Remove(n.Key);
        UsedBytes -= n.Size;
        _groups[n.Group].Refs--;
        var last = _resident[--_residentCount];
        _resident[n.Dense] = last;
        _nodes[last].Dense = n.Dense;
        n.Dense = _freeNode; // the free list threads through Dense
        _freeNode = node;
    }

    private struct Node
    {
        public ulong Key;
        public long Size;
        public int Group;
        public int Dense;
        public byte Octave;
        public byte Rendition;
    }

    private struct Group
    {
        public ulong Id;
        public double Total;
        public int Refs;
        public int NextFree;
    }
}
