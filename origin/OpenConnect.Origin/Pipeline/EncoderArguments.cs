using System.Globalization;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// The encoder settings of one rung as ffmpeg options: target bitrate with a VBV cap, and closed
/// GOPs of exactly one segment whose keyframes sit on segment boundaries (fixed GOP length,
/// no scene-cut keyframes, forced keyframes at every multiple of the segment length), so every
/// rung and every chunk cuts at the same instants. The first chunk may also get a keyframe at
/// the end of a shorter first segment (<see cref="ForcedKeyframes"/>).
/// </summary>
public static class EncoderArguments
{
    /// <param name="rung">The rung.</param>
    /// <param name="frameRate">Source frame rate, for the GOP length in frames.</param>
    /// <param name="segmentSeconds">Segment length.</param>
    /// <param name="options">Presets.</param>
    /// <param name="stream">Output stream specifier: <c>v</c> for a single-output command, <c>v:0</c>, <c>v:1</c>… when one command writes several.</param>
    /// <param name="firstSegmentSeconds">For the title's first chunk: the end of a shorter first segment (an extra keyframe); 0 for none.</param>
    public static string Video(Rung rung, double frameRate, int segmentSeconds, PipelineOptions options, string stream = "v", double firstSegmentSeconds = 0)
    {
        var gop = GopFrames(frameRate, segmentSeconds);
        var s = stream;
        var common = string.Create(CultureInfo.InvariantCulture, $"-pix_fmt:{s} yuv420p -b:{s} {rung.BitrateKbps}k -maxrate:{s} {rung.MaxRateKbps}k -bufsize:{s} {rung.BufferKbits}k -g:{s} {gop} -keyint_min:{s} {gop} -force_key_frames:{s} \"{ForcedKeyframes(segmentSeconds, firstSegmentSeconds)}\"");
        return rung.Codec switch
        {
            "h264" => $"-c:{s} libx264 -preset:{s} {options.X264Preset} -profile:{s} high {common} -sc_threshold:{s} 0 -x264-params:{s} open_gop=0",
            "hevc" => string.Create(CultureInfo.InvariantCulture, $"-c:{s} libx265 -preset:{s} {options.X265Preset} -tag:{s} hvc1 {common} -x265-params:{s} keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error"),
            "vp9" => string.Create(CultureInfo.InvariantCulture, $"-c:{s} libvpx-vp9 -deadline:{s} good -cpu-used:{s} {options.Vp9CpuUsed} -row-mt:{s} 1 {common}"),
            "av1" => string.Create(CultureInfo.InvariantCulture, $"-c:{s} libsvtav1 -preset:{s} {options.SvtAv1Preset} {common} -svtav1-params:{s} irefresh-type=2"),
            _ => throw new ArgumentOutOfRangeException(nameof(rung), rung.Codec, "unknown codec"),
        };
    }

    /// <summary>
    /// A trial encode for the per-title analysis: x264 at a constant rate factor with the pipeline's
    /// preset and GOP, so its bitrate at a given quality predicts the real H.264 rung's.
    /// </summary>
    public static string TrialVideo(int crf, double frameRate, int segmentSeconds, PipelineOptions options, string stream = "v")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(crf);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(crf, 51);
        var gop = GopFrames(frameRate, segmentSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"-c:{stream} libx264 -preset:{stream} {options.X264Preset} -profile:{stream} high -crf:{stream} {crf} -pix_fmt:{stream} yuv420p -g:{stream} {gop} -keyint_min:{stream} {gop} -sc_threshold:{stream} 0");
    }

    /// <summary>The scaling filter of a rung: exact even frame size, square pixels.</summary>
    public static string ScaleFilter(Rung rung) => string.Create(CultureInfo.InvariantCulture, $"scale={rung.Width}:{rung.FrameHeight}:flags=bicubic,setsar=1");

    /// <summary>
    /// One filter graph for several rungs: the first video stream of input 0 is split once and each
    /// branch scaled by <see cref="ScaleFilter"/>; branch <c>i</c> is labelled <c>[v{i}]</c>.
    /// </summary>
    public static string SplitScaleFilter(IReadOnlyList<Rung> rungs)
    {
        ArgumentOutOfRangeException.ThrowIfZero(rungs.Count);
        var graph = new System.Text.StringBuilder();
        graph.Append(CultureInfo.InvariantCulture, $"[0:v:0]split={rungs.Count}");
        for (var i = 0; i < rungs.Count; i++)
        {
            graph.Append(CultureInfo.InvariantCulture, $"[s{i}]");
        }

        for (var i = 0; i < rungs.Count; i++)
        {
            graph.Append(CultureInfo.InvariantCulture, $";[s{i}]{ScaleFilter(rungs[i])}[v{i}]");
        }

        return graph.ToString();
    }

    /// <summary>The AAC stereo options.</summary>
    public static string Audio(PipelineOptions options, string stream = "a") =>
        string.Create(CultureInfo.InvariantCulture, $"-c:{stream} aac -b:{stream} {options.AudioBitrateKbps}k -ac 2 -ar 48000");

    /// <summary>
    /// ffmpeg's <c>-force_key_frames</c> expression: a keyframe at every multiple of the segment
    /// length, plus one at <paramref name="firstSegmentSeconds"/> when it is above 0 (keyframes at 0,
    /// that, then the regular multiples: a short first segment, a second one that ends on the grid).
    /// </summary>
    public static string ForcedKeyframes(int segmentSeconds, double firstSegmentSeconds) => firstSegmentSeconds > 0
        ? string.Create(CultureInfo.InvariantCulture, $"expr:if(lt(n_forced,2),gte(t,n_forced*{firstSegmentSeconds:0.###}),gte(t,(n_forced-1)*{segmentSeconds}))")
        : string.Create(CultureInfo.InvariantCulture, $"expr:gte(t,n_forced*{segmentSeconds})");

    public static int GopFrames(double frameRate, int segmentSeconds) => Math.Max(1, (int)Math.Round(frameRate * segmentSeconds));
}
