using System.Globalization;
using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

/// <summary>
/// Decisions of the video-aware policy. Objects of 300 bytes in a 1000-byte policy whose probation
/// queue (10 bytes) is too small for them: they go straight to main, which holds three. Requests before
/// the objects are offered are counted with <see cref="VideoAwarePolicy.Observe"/>, in this order:
/// <list type="bullet">
/// <item>title 3, rendition 1: five sessions over segments 0–7 (long ago: 200 requests of title 4 follow);</item>
/// <item>title 1, rendition 1: five sessions over 0–7, two of which go on to 63;</item>
/// <item>title 1, rendition 2 and title 2, rendition 1: one session each over 0–7.</item>
/// </list>
/// </summary>
public sealed class VideoAwarePolicyTests
{
    private const long Size = 300;

    [Theory]
    // Position: the late segment is reached by two sessions of five.
    [InlineData("1/1/0", "1/1/40", "1/1/4", "1/1/40")]
    // Title frequency: title 2 was watched once, by the session that fetched it.
    [InlineData("1/1/0", "2/1/0", "1/1/4", "2/1/0")]
    // Rendition: rendition 2 gets a few percent of this site's requests.
    [InlineData("1/1/0", "1/2/0", "1/1/4", "1/2/0")]
    // Title recency: title 3 had as many sessions as title 1, but long ago.
    [InlineData("3/1/0", "1/1/0", "1/1/4", "3/1/0")]
    // An object without a hint is its own group, requested once.
    [InlineData("1/1/0", "-", "1/1/4", "-")]
    public void Evicts_the_object_worth_least(string a, string b, string c, string expectedVictim)
    {
        var policy = WithHistory(new VideoPolicyOptions { SmallFraction = 0.01, SampleSize = 64, AdmitQuantile = 0, AdmitRatio = 0, UnprovenAdmitRatio = 0 });
        var evicted = new List<ulong>();
        ulong key = 100;
        var keys = new Dictionary<string, ulong>();
        foreach (var hint in new[] { a, b, c })
        {
            keys[hint] = ++key;
            Assert.True(policy.Admit(key, Size, Hint(hint), evicted));
            Assert.True(policy.IsInMain(key));
        }

        Assert.Empty(evicted);
        Assert.True(policy.Admit(200, Size, Hint("1/1/2"), evicted));

        Assert.Equal([keys[expectedVictim]], evicted);
    }

    [Theory]
    // Bar: twice the value of the sampled victim (the late segment of title 1).
    [InlineData("1/1/2", true)]
    [InlineData("1/1/0", true)]
    [InlineData("2/1/0", false)]
    [InlineData("1/2/0", false)]
    [InlineData("3/1/0", false)]
    public void An_object_requested_once_is_written_only_when_worth_more_than_it_displaces(string hint, bool admitted)
    {
        var policy = WithHistory(new VideoPolicyOptions { SmallFraction = 0.01, SampleSize = 64, AdmitQuantile = 0, AdmitRatio = 1, UnprovenAdmitRatio = 2 });
        var evicted = new List<ulong>();
        var promoted = new List<ulong>();
        policy.Admit(1, Size, Hint("1/1/0"), evicted, promoted);
        policy.Admit(2, Size, Hint("1/1/40"), evicted, promoted);
        policy.Admit(3, Size, Hint("1/1/4"), evicted, promoted);
        promoted.Clear();
        var written = policy.BytesAdmittedToMain;

        Assert.Equal(admitted, policy.Admit(9, Size, Hint(hint), evicted, promoted));

        Assert.Equal(admitted, policy.IsInMain(9));
        Assert.Equal(admitted ? [9UL] : [], promoted);
        Assert.Equal(admitted ? [2UL] : [], evicted);
        Assert.Equal(written + (admitted ? Size : 0), policy.BytesAdmittedToMain);
    }

    [Fact]
    public void A_second_miss_proves_reuse_and_meets_the_lower_bar()
    {
        var policy = WithHistory(new VideoPolicyOptions { SmallFraction = 0.01, SampleSize = 64, AdmitQuantile = 0, AdmitRatio = 1, UnprovenAdmitRatio = 1000 });
        var evicted = new List<ulong>();
        policy.Admit(1, Size, Hint("1/1/0"), evicted);
        policy.Admit(2, Size, Hint("1/1/40"), evicted);
        policy.Admit(3, Size, Hint("1/1/4"), evicted);
        var ghosts = policy.GhostCount;

        Assert.False(policy.Admit(9, Size, Hint("1/1/2"), evicted));
        Assert.Equal(ghosts + 1, policy.GhostCount);
        Assert.False(policy.Access(9));

        Assert.True(policy.Admit(9, Size, Hint("1/1/2"), evicted));
        Assert.True(policy.IsInMain(9));
        Assert.Equal([2UL], evicted);
    }

    [Fact]
    public void New_objects_wait_in_probation_without_a_write_and_leave_it_unwritten_when_worth_little()
    {
        // Probation holds 100 bytes (three objects of 30); main is full of objects requested three times each.
        var policy = WithHistory(new VideoPolicyOptions { SampleSize = 64, AdmitQuantile = 0 });
        var evicted = new List<ulong>();
        var promoted = new List<ulong>();
        for (ulong k = 1; k <= 30; k++)
        {
            // Restored without a hint (as after a restart), then requested a few times.
            Assert.True(policy.Restore(k, 30, evicted));
            for (var i = 0; i < 3; i++)
            {
                Assert.True(policy.Access(k));
            }
        }

        Assert.Empty(evicted);
        for (ulong k = 101; k <= 103; k++)
        {
            Assert.True(policy.Admit(k, 30, Hint("2/1/" + k.ToString(CultureInfo.InvariantCulture)), evicted, promoted));
            Assert.True(policy.Contains(k));
            Assert.False(policy.IsInMain(k));
        }

        Assert.Empty(promoted);
        Assert.Equal(90, policy.SmallBytes);
        Assert.Equal(0, policy.BytesAdmittedToMain);

        // A fourth pushes the oldest out of probation: title 2 is worth less than what main holds, so it leaves unwritten.
        policy.Admit(104, 30, Hint("2/1/104"), evicted, promoted);
        Assert.Empty(promoted);
        Assert.Equal([101UL], evicted);
        Assert.False(policy.Contains(101));
    }

    [Theory]
    [InlineData(true, 2UL)]
    [InlineData(false, 1UL)]
    public void Objects_restored_with_their_hint_are_valued_by_their_title(bool withHint, ulong expectedVictim)
    {
        var policy = WithHistory(new VideoPolicyOptions { SmallFraction = 0.01, SampleSize = 64, AdmitQuantile = 0, AdmitRatio = 0, UnprovenAdmitRatio = 0 });
        var evicted = new List<ulong>();
        Assert.True(policy.Restore(1, Size, withHint ? Hint("1/1/0") : ContentHint.None, evicted));
        Assert.True(policy.Admit(2, Size, Hint("1/1/40"), evicted));
        Assert.True(policy.Admit(3, Size, Hint("1/1/4"), evicted));
        Assert.Equal(2 * Size, policy.BytesAdmittedToMain); // a restore is not a write

        Assert.True(policy.Admit(4, Size, Hint("1/1/2"), evicted));
        Assert.Equal([expectedVictim], evicted);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    [InlineData(7, 2)]
    [InlineData(8, 3)]
    [InlineData(1_000, 9)]
    [InlineData(65_535, 15)]
    [InlineData(1 << 20, 15)]
    public void Segments_fall_into_octaves(int segment, int octave) => Assert.Equal(octave, VideoAwarePolicy.OctaveOf(segment));

    [Theory]
    [InlineData("seg-00042.m4s", 42)]
    [InlineData("seg-00001.m4s", 1)]
    [InlineData("seg-00000.m4s", 0)]
    [InlineData("init.mp4", -1)]
    [InlineData("index.m3u8", -1)]
    [InlineData("chunk7", 7)]
    [InlineData("a1b22.ts", 22)]
    [InlineData("0000000000123.m4s", 123)]
    [InlineData("seg-1234567890.m4s", -1)]
    public void Segment_numbers_come_from_the_file_name_before_its_extension(string fileName, int segment) =>
        Assert.Equal(segment, ContentHint.SegmentNumber(fileName));

    [Theory]
    [InlineData("/v/abc/720p/seg-00042.m4s", true, true, 42)]
    [InlineData("/v/abc/720p/init.mp4", true, true, -1)]
    [InlineData("/v/abc/master.m3u8", true, false, -1)]
    [InlineData("/v/abc", false, false, -1)]
    [InlineData("/x/abc/720p/seg-00001.m4s", false, false, -1)]
    [InlineData("", false, false, -1)]
    public void Hints_are_read_from_content_paths(string path, bool hasTitle, bool hasRendition, int segment)
    {
        var hint = ContentHint.FromPath(path);
        Assert.Equal(hasTitle, hint.HasTitle);
        Assert.Equal(hasRendition, hint.Rendition != 0);
        Assert.Equal(segment, hint.Segment);
    }

    [Fact]
    public void Hints_of_one_title_share_its_id_and_renditions_differ()
    {
        var a = ContentHint.FromPath("/v/abc/720p/seg-00001.m4s");
        var b = ContentHint.FromPath("/v/abc/1080p/seg-00009.m4s");
        var other = ContentHint.FromPath("/v/abd/720p/seg-00001.m4s");
        Assert.Equal(a.Title, b.Title);
        Assert.NotEqual(a.Rendition, b.Rendition);
        Assert.NotEqual(a.Title, other.Title);
        Assert.Equal(a.Rendition, other.Rendition);
    }

    [Theory]
    [InlineData(nameof(VideoPolicyOptions.HalfLife), 0.0)]
    [InlineData(nameof(VideoPolicyOptions.SmallFraction), 0.0)]
    [InlineData(nameof(VideoPolicyOptions.SmallFraction), 0.6)]
    [InlineData(nameof(VideoPolicyOptions.GhostFraction), -1.0)]
    [InlineData(nameof(VideoPolicyOptions.SampleSize), 0.0)]
    [InlineData(nameof(VideoPolicyOptions.AdmitQuantile), 1.5)]
    [InlineData(nameof(VideoPolicyOptions.UnprovenAdmitRatio), 0.5)]
    [InlineData(nameof(VideoPolicyOptions.SessionDiscount), -1.0)]
    public void Out_of_range_options_are_rejected_by_name(string name, double value)
    {
        var options = name switch
        {
            nameof(VideoPolicyOptions.HalfLife) => new VideoPolicyOptions { HalfLife = value },
            nameof(VideoPolicyOptions.SmallFraction) => new VideoPolicyOptions { SmallFraction = value },
            nameof(VideoPolicyOptions.GhostFraction) => new VideoPolicyOptions { GhostFraction = value },
            nameof(VideoPolicyOptions.SampleSize) => new VideoPolicyOptions { SampleSize = (int)value },
            nameof(VideoPolicyOptions.AdmitQuantile) => new VideoPolicyOptions { AdmitQuantile = value },
            nameof(VideoPolicyOptions.UnprovenAdmitRatio) => new VideoPolicyOptions { UnprovenAdmitRatio = value },
            _ => new VideoPolicyOptions { SessionDiscount = value },
        };

        var error = Assert.Throws<ArgumentException>(() => new VideoAwarePolicy(1_000, options));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 5_000)]
    [InlineData(2, 40_000)]
    [InlineData(3, 200_000)]
    public void With_hints_capacity_holds_and_every_reported_key_was_resident(int seed, long capacity)
    {
        var rng = new Random(seed);
        var policy = new VideoAwarePolicy(capacity, new VideoPolicyOptions { SampleSize = 8 });
        var resident = new HashSet<ulong>();
        var evicted = new List<ulong>();
        var promoted = new List<ulong>();
        var written = 0L;
        for (var i = 0; i < 30_000; i++)
        {
            // Sessions over 40 titles, 4 renditions, mostly early segments.
            var title = (int)(Math.Pow(rng.NextDouble(), 2) * 40);
            var rendition = rng.Next(4);
            var segment = (int)(-Math.Log(1 - rng.NextDouble()) * 20);
            var key = ((ulong)title << 32) | ((ulong)rendition << 24) | (uint)segment;
            var size = 50 + (((title * 31) + segment) % 400);
            var hit = policy.Access(key);
            Assert.Equal(resident.Contains(key), hit);
            if (hit)
            {
                continue;
            }

            evicted.Clear();
            promoted.Clear();
            var admitted = policy.Admit(key, size, new ContentHint((ulong)title + 1, (ulong)rendition + 1, segment), evicted, promoted);
            foreach (var gone in evicted)
            {
                Assert.True(resident.Remove(gone) || promoted.Contains(gone), $"{gone} reported evicted but was not resident");
                Assert.False(policy.Contains(gone));
            }

            foreach (var up in promoted)
            {
                Assert.True(policy.IsInMain(up) || evicted.Contains(up));
            }

            if (admitted)
            {
                resident.Add(key);
            }

            Assert.Equal(admitted, policy.Contains(key));
            Assert.True(policy.UsedBytes <= policy.CapacityBytes, $"{policy.UsedBytes} > {policy.CapacityBytes}");
            Assert.True(policy.SmallBytes <= policy.SmallCapacityBytes);
            Assert.Equal(resident.Count, policy.Count);
            written += promoted.Count;
        }

        Assert.Equal(written, policy.ObjectsAdmittedToMain);
        Assert.InRange(policy.GroupCount, 1, 40);
    }

    [Fact]
    public void The_factory_creates_it_by_name() =>
        Assert.IsType<VideoAwarePolicy>(PolicyFactory.Create(PolicyFactory.Video, 1_000));

    private static VideoAwarePolicy WithHistory(VideoPolicyOptions options)
    {
        var policy = new VideoAwarePolicy(1_000, options);
        Sessions(policy, "3/1", 5, 7);
        Sessions(policy, "4/1", 1, 299, from: 100);
        Sessions(policy, "1/1", 3, 7);
        Sessions(policy, "1/1", 2, 63);
        Sessions(policy, "1/2", 1, 7);
        Sessions(policy, "2/1", 1, 7);
        return policy;
    }

    private static void Sessions(VideoAwarePolicy policy, string titleAndRendition, int sessions, int last, int from = 0)
    {
        for (var s = 0; s < sessions; s++)
        {
            for (var segment = from; segment <= last; segment++)
            {
                policy.Observe(Hint(titleAndRendition + "/" + segment.ToString(CultureInfo.InvariantCulture)));
            }
        }
    }

    /// <summary>"title/rendition/segment" with numeric ids; "-" for no hint.</summary>
    private static ContentHint Hint(string text)
    {
        if (text == "-")
        {
            return ContentHint.None;
        }

        var parts = text.Split('/');
        return new ContentHint(ulong.Parse(parts[0], CultureInfo.InvariantCulture), ulong.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
    }
}
