namespace OpenConnect.Origin.Pipeline;

/// <summary>One video rendition to produce: its folder name, codec, frame size and target bitrate.</summary>
public sealed record Rung(string Name, string Codec, int Height, int Width, int FrameHeight, int BitrateKbps)
{
    /// <summary>Peak rate allowed by the VBV model (kbit/s).</summary>
    public int MaxRateKbps => BitrateKbps * 3 / 2;

    /// <summary>VBV buffer (kbit).</summary>
    public int BufferKbits => BitrateKbps * 2;
}

/// <summary>
/// Chooses the rungs for a source: the standard heights up to the source's short side (never an
/// upscale), each frame size keeping the display aspect with even dimensions; H.264 at every rung,
/// each other codec only at heights from its <see cref="PipelineOptions.MinHeightFor"/> up. Pure,
/// so the rules are tested as tables.
/// </summary>
public static class Ladder
{
    public static readonly IReadOnlyList<int> Heights = [144, 240, 360, 480, 720, 1080, 1440, 2160];

    /// <summary>Bitrate of a codec relative to H.264 at the same quality (rough, conservative).</summary>
    public static double BitrateFactor(string codec) => codec switch
    {
        "hevc" => 0.65,
        "vp9" => 0.65,
        "av1" => 0.55,
        _ => 1.0,
    };

    /// <summary>The rendition folder name: <c>720p</c> for H.264, <c>720p-hevc</c> and so on.</summary>
    public static string RenditionName(int height, string codec) => codec == "h264" ? $"{height}p" : $"{height}p-{codec}";

    /// <summary>
    /// The name of a rung that shares its height with a dearer one in a per-title ladder: the H.264
    /// bitrate tells them apart (<c>1080p-900k</c>, <c>1080p-900k-av1</c>).
    /// </summary>
    public static string RenditionName(int height, int h264Kbps, string codec) =>
        RenditionName(height, codec).Insert($"{height}p".Length, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"-{h264Kbps}k"));

    /// <param name="displayWidth">Source width as displayed (after rotation and sample aspect ratio).</param>
    /// <param name="displayHeight">Source height as displayed.</param>
    /// <param name="options">Codecs, bitrates and the highest rung.</param>
    public static IReadOnlyList<Rung> For(int displayWidth, int displayHeight, PipelineOptions options) =>
        Build(displayWidth, displayHeight, options, [.. CandidateHeights(displayWidth, displayHeight, options).Select(h => (h, options.BitrateKbpsFor(h)))]);

    /// <summary>
    /// The rungs of a per-title plan: each planned (height, H.264 bitrate) in H.264, and in every other
    /// codec whose minimum height it reaches at <see cref="BitrateFactor"/> of the H.264 bitrate.
    /// </summary>
    public static IReadOnlyList<Rung> FromPlan(int displayWidth, int displayHeight, PipelineOptions options, IReadOnlyList<PerTitle.PlannedRung> planned)
    {
        ArgumentOutOfRangeException.ThrowIfZero(planned.Count);
        var allowed = CandidateHeights(displayWidth, displayHeight, options);
        var steps = planned.OrderBy(p => p.Height).ThenBy(p => p.Kbps).Select(p => (p.Height, p.Kbps)).ToList();
        foreach (var (height, kbps) in steps)
        {
            if (!allowed.Contains(height))
            {
                throw new ArgumentException($"planned rung {height}p is not a ladder height for a {displayWidth}x{displayHeight} source", nameof(planned));
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(kbps, 1);
        }

        if (steps.Select(s => (s.Height, s.Kbps)).Distinct().Count() != steps.Count)
        {
            throw new ArgumentException("a per-title plan has two rungs of the same height and bitrate", nameof(planned));
        }

        return Build(displayWidth, displayHeight, options, steps);
    }

    /// <summary>The standard heights up to the source's short side and <see cref="PipelineOptions.MaxHeight"/>, or the source's own (even) size when it is below the smallest.</summary>
    public static IReadOnlyList<int> CandidateHeights(int displayWidth, int displayHeight, PipelineOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(displayWidth, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(displayHeight, 2);
        var shortSide = Math.Min(displayWidth, displayHeight);
        var heights = Heights.Where(h => h <= shortSide && h <= options.MaxHeight).ToList();
        if (heights.Count == 0)
        {
            // Smaller than the smallest rung: one rendition at the source size.
            heights.Add(Math.Max(2, shortSide & ~1));
        }

        return heights;
    }

    private static List<Rung> Build(int displayWidth, int displayHeight, PipelineOptions options, IReadOnlyList<(int Height, int Kbps)> steps)
    {
        var rungs = new List<Rung>();
        foreach (var codec in options.EffectiveCodecs)
        {
            var minHeight = options.MinHeightFor(codec);
            foreach (var (height, kbps) in steps.Where(s => s.Height >= minHeight))
            {
                var (width, frameHeight) = FrameSize(displayWidth, displayHeight, height);
                var bitrate = Math.Max(1, (int)Math.Round(kbps * BitrateFactor(codec)));
                var dearest = steps.Where(s => s.Height == height).Max(s => s.Kbps) == kbps;
                var name = dearest ? RenditionName(height, codec) : RenditionName(height, kbps, codec);
                rungs.Add(new Rung(name, codec, height, width, frameHeight, bitrate));
            }
        }

        return rungs;
    }

    /// <summary>The frame size whose short side is <paramref name="shortSide"/>, keeping the aspect, both dimensions even.</summary>
    public static (int Width, int Height) FrameSize(int displayWidth, int displayHeight, int shortSide)
    {
        if (displayWidth >= displayHeight)
        {
            return (Even((double)displayWidth * shortSide / displayHeight), Even(shortSide));
        }

        return (Even(shortSide), Even((double)displayHeight * shortSide / displayWidth));
    }

    private static int Even(double value) => Math.Max(2, (int)Math.Round(value / 2, MidpointRounding.AwayFromZero) * 2);
}
