using OpenConnect.Hosting;
using OpenConnect.Hosting.Database;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Transcode pipeline settings (section <c>Origin:Pipeline</c>).</summary>
public sealed class PipelineOptions
{
    /// <summary>Codec names the pipeline knows: H.264 is always produced, the others on request.</summary>
    public static readonly IReadOnlyList<string> KnownCodecs = ["h264", "hevc", "vp9", "av1"];

    /// <summary>Default H.264 bitrates (kbit/s) per rung height, close to common VOD ladders.</summary>
    public static readonly IReadOnlyDictionary<int, int> DefaultBitratesKbps = new Dictionary<int, int>
    {
        [144] = 200,
        [240] = 400,
        [360] = 800,
        [480] = 1400,
        [720] = 2800,
        [1080] = 5000,
        [1440] = 8000,
        [2160] = 14000,
    };

    /// <summary>
    /// The codecs produced when <see cref="Codecs"/> is not configured: H.264 for every player and
    /// AV1, which <c>bench ladder</c> measured at 0.21-0.87 of H.264's bytes at equal SSIM for
    /// 0.30-0.48x its encode time at 1080p (see bench/RESULTS.md). VP9 took 2-4.6x H.264's encode
    /// time and stays opt-in.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultCodecs = ["h264", "av1"];

    /// <summary>The lowest rung height of each codec when <see cref="CodecMinHeights"/> does not name it: AV1 from 1080p.</summary>
    public static readonly IReadOnlyDictionary<string, int> DefaultCodecMinHeights = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["av1"] = 1080,
    };

    /// <summary>
    /// Video codecs to produce. Empty (default) means <see cref="DefaultCodecs"/>: <c>h264</c> and
    /// <c>av1</c>. Configuring it replaces the default (<c>Codecs:0=h264</c> alone produces only
    /// H.264); it is empty rather than pre-filled because the configuration binder appends to a
    /// pre-filled list. Known: <c>h264</c>, <c>hevc</c>, <c>vp9</c>, <c>av1</c>. H.264 is always included.
    /// </summary>
    public List<string> Codecs { get; set; } = [];

    /// <summary>
    /// Lowest rung height (the short side) at which a codec other than H.264 gets a rendition
    /// (e.g. <c>CodecMinHeights:av1=720</c>); H.264 is produced at every rung. A codec named here
    /// replaces its <see cref="DefaultCodecMinHeights"/> entry (<c>av1: 1080</c>); a codec named in
    /// neither gets every rung.
    /// </summary>
    public Dictionary<string, int> CodecMinHeights { get; set; } = [];

    /// <summary>H.264 bitrate (kbit/s) per rung height, overriding <see cref="DefaultBitratesKbps"/> (e.g. <c>BitratesKbps:720=3000</c>). Other codecs use a fraction of it. Defaults: 144: 200, 240: 400, 360: 800, 480: 1400, 720: 2800, 1080: 5000, 1440: 8000, 2160: 14000 (maxrate 1.5x, buffer 2x); HEVC and VP9 use 0.65 of it, AV1 0.55.</summary>
    public Dictionary<string, int> BitratesKbps { get; set; } = [];

    /// <summary>
    /// How rungs are chosen: <c>per-title</c> (default) measures the title with trial encodes and
    /// picks heights and bitrates from its rate-quality curves, then checks each rung with real
    /// encodes against the fixed rung's SSIM (<see cref="PerTitle.PerTitleLadder"/>,
    /// <see cref="PerTitle.RungCalibrator"/>), never above the fixed ladder's bitrate for a height;
    /// <c>fixed</c> gives every title <see cref="BitratesKbps"/> per height. <c>bench ladder</c>
    /// measured 25–41 % fewer bytes on easy clips at equal or better SSIM per rung (bench/RESULTS.md).
    /// </summary>
    public string Ladder { get; set; } = "per-title";

    /// <summary>
    /// Sources shorter than this (seconds) get the fixed ladder even when <see cref="Ladder"/> is
    /// <c>per-title</c>: the analysis samples the same few seconds whatever the length, a cost of
    /// minutes on two cores that outweighs the encode of a short clip. Default 120; 0 analyses every title.
    /// </summary>
    public double PerTitleMinSourceSeconds { get; set; } = 120;

    /// <summary>Windows of the source the per-title analysis encodes (spread evenly). Default 3. 1–20.</summary>
    public int PerTitleSampleWindows { get; set; } = 3;

    /// <summary>Length of each per-title analysis window in seconds. Default 2. 0.5–30 s.</summary>
    public double PerTitleWindowSeconds { get; set; } = 2;

    /// <summary>Bits added to the per-title rate a rung is predicted to need (0.10 = 10 %), against the trial's error. Default 0.10.</summary>
    public double PerTitleRateMargin { get; set; } = 0.10;

    /// <summary>Whether <see cref="Ladder"/> asks for the per-title ladder.</summary>
    public bool IsPerTitle => string.Equals(Ladder.Trim(), "per-title", StringComparison.OrdinalIgnoreCase);

    /// <summary>Highest rung produced (a ladder height); the ladder also never goes above the source. Default 2160. One of 144, 240, 360, 480, 720, 1080, 1440, 2160.</summary>
    public int MaxHeight { get; set; } = 2160;

    /// <summary>CMAF segment length in seconds (2–4). Default 4.</summary>
    public int SegmentSeconds { get; set; } = 4;

    /// <summary>
    /// Length in seconds of each video rendition's first segment, shorter than the others so a player's
    /// first download is small and its first frame comes sooner; the second segment ends on the regular
    /// grid, and every rendition cuts at the same instants. 0 turns it off (every segment
    /// <see cref="SegmentSeconds"/> long). Either 0 or between 0.5 and half of <see cref="SegmentSeconds"/>.
    /// Applies to titles whose rungs are all H.264 (the encoders of the other codecs ignore a keyframe
    /// forced inside a GOP); audio segments keep <see cref="SegmentSeconds"/>. Default 0: in
    /// <c>bench ttff</c> hls.js and dash.js still waited for the second segment before the first frame,
    /// so a short first segment only added a request.
    /// </summary>
    public double FirstSegmentSeconds { get; set; }

    /// <summary>Length of the time ranges encoded in parallel, a multiple of <see cref="SegmentSeconds"/>. Default 12.</summary>
    public int ChunkSeconds { get; set; } = 12;

    /// <summary>Chunk encode jobs running at once (each one ffmpeg process for all rungs of a chunk). Default: the processor count.</summary>
    /// <value>the processor count</value>
    public int MaxParallelEncodes { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// How long a worker's claim on a chunk job (and an origin's claim on the title it runs) lasts
    /// without renewal; the holder renews it every third of this while it works. A job or title whose
    /// process died is claimed again once its lease ends (at once when that process was on the same
    /// host), so this bounds the work a dead process delays. Between 00:00:03 and 00:10:00. Default 30 s.
    /// </summary>
    public TimeSpan ChunkLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether the origin encodes chunk jobs itself (<see cref="MaxParallelEncodes"/> at once) besides
    /// coordinating its titles. Set false when worker processes (<c>Origin:Role=worker</c>) on the same
    /// PostgreSQL job store do all the encoding, so the API host keeps its cores. Default true.
    /// </summary>
    public bool EncodeInProcess { get; set; } = true;

    /// <summary>How often an idle worker looks for chunk jobs queued by another process (the origin's own wake it at once). Between 00:00:00.05 and 00:01:00. Default 1 s.</summary>
    public TimeSpan ChunkPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>x264 preset. Default <c>veryfast</c>.</summary>
    public string X264Preset { get; set; } = "veryfast";

    /// <summary>x265 preset. Default <c>veryfast</c>.</summary>
    public string X265Preset { get; set; } = "veryfast";

    /// <summary>libvpx-vp9 <c>-cpu-used</c> (0 slowest … 8 fastest). Default 5.</summary>
    public int Vp9CpuUsed { get; set; } = 5;

    /// <summary>SVT-AV1 preset (0 slowest … 13 fastest). Default 10.</summary>
    public int SvtAv1Preset { get; set; } = 10;

    /// <summary>AAC stereo bitrate in kbit/s. Default 128.</summary>
    public int AudioBitrateKbps { get; set; } = 128;

    /// <summary>Attempts per step before the title fails. Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Delay before the first retry; doubles with each further attempt. Default 2 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest any single ffmpeg/ffprobe run may take before it is stopped and the step fails. Default 2 h.</summary>
    public TimeSpan ProcessTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Seconds between storyboard thumbnails; 0 picks one so that a title has at most 100. Default 0.</summary>
    public int StoryboardIntervalSeconds { get; set; }

    /// <summary>Limits and isolation of the ffmpeg/ffprobe runs over uploaded bytes (section <c>Origin:Pipeline:Sandbox</c>).</summary>
    public MediaSandboxOptions Sandbox { get; set; } = new();

    /// <summary>
    /// The job store (titles, their steps and the chunk encode jobs): <c>{DataDirectory}/pipeline.db</c>
    /// (the default, nothing to install) or PostgreSQL, which worker processes (<c>Origin:Role=worker</c>) on
    /// this host or others need to claim chunk jobs from the same queue (section <c>Origin:Pipeline:Database</c>).
    /// </summary>
    public DatabaseOptions Database { get; set; } = new();

    /// <summary>Protected titles' DRM signalling (section <c>Origin:Pipeline:Protection</c>).</summary>
    public Cenc.DrmSignallingOptions Protection { get; set; } = new();

    /// <summary>The codecs to produce: <see cref="Codecs"/> (or <see cref="DefaultCodecs"/>) with H.264 first and duplicates removed.</summary>
    public IReadOnlyList<string> EffectiveCodecs =>
        ["h264", .. (Codecs.Count == 0 ? DefaultCodecs : Codecs).Select(c => c.Trim().ToLowerInvariant()).Where(c => c != "h264").Distinct()];

    /// <summary>The lowest rung height that gets a rendition in <paramref name="codec"/>: 0 (every rung) for H.264 and for codecs without a minimum.</summary>
    public int MinHeightFor(string codec)
    {
        codec = codec.Trim().ToLowerInvariant();
        if (codec == "h264")
        {
            return 0;
        }

        foreach (var (key, value) in CodecMinHeights)
        {
            if (string.Equals(key.Trim(), codec, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return DefaultCodecMinHeights.TryGetValue(codec, out var standard) ? standard : 0;
    }

    /// <summary>The H.264 bitrate of a rung height, configured or default.</summary>
    public int BitrateKbpsFor(int height)
    {
        if (BitratesKbps.TryGetValue(height.ToString(System.Globalization.CultureInfo.InvariantCulture), out var configured))
        {
            return configured;
        }

        if (DefaultBitratesKbps.TryGetValue(height, out var standard))
        {
            return standard;
        }

        // A sub-144p source: scale the smallest rung's bitrate by area.
        return Math.Max(50, DefaultBitratesKbps[144] * height * height / (144 * 144));
    }

    public void Validate(OptionsCheck check)
    {
        foreach (var codec in Codecs)
        {
            check.Require(KnownCodecs.Contains(codec.Trim().ToLowerInvariant()), "Pipeline:Codecs", codec, "must be one of h264, hevc, vp9, av1");
        }

        foreach (var (key, value) in CodecMinHeights)
        {
            var codec = key.Trim().ToLowerInvariant();
            check.Require(codec is "hevc" or "vp9" or "av1", $"Pipeline:CodecMinHeights:{key}", value, "the key must be hevc, vp9 or av1 (H.264 is produced at every rung)");
            check.Require(value is >= 1 and <= 4320, $"Pipeline:CodecMinHeights:{key}", value, "must be a positive height in pixels, at most 4320");
        }

        foreach (var (key, value) in BitratesKbps)
        {
            var isRung = int.TryParse(key, out var height) && DefaultBitratesKbps.ContainsKey(height);
            check.Require(isRung, $"Pipeline:BitratesKbps:{key}", value, "the key must be a ladder height (144, 240, 360, 480, 720, 1080, 1440, 2160)");
            check.Require(value is >= 50 and <= 100_000, $"Pipeline:BitratesKbps:{key}", value, "must be between 50 and 100000 kbit/s");
        }

        check.Require(Ladder.Trim().ToLowerInvariant() is "per-title" or "fixed", "Pipeline:Ladder", Ladder, "must be per-title or fixed");
        check.Require(PerTitleSampleWindows is >= 1 and <= 20, "Pipeline:PerTitleSampleWindows", PerTitleSampleWindows, "must be between 1 and 20");
        check.Require(PerTitleWindowSeconds is >= 0.5 and <= 30, "Pipeline:PerTitleWindowSeconds", PerTitleWindowSeconds, "must be between 0.5 and 30");
        check.Require(PerTitleMinSourceSeconds is >= 0 and <= 86_400, "Pipeline:PerTitleMinSourceSeconds", PerTitleMinSourceSeconds, "must be between 0 and 86400");
        check.Require(PerTitleRateMargin is >= 0 and <= 1, "Pipeline:PerTitleRateMargin", PerTitleRateMargin, "must be between 0 and 1");
        check.Require(DefaultBitratesKbps.ContainsKey(MaxHeight), "Pipeline:MaxHeight", MaxHeight, "must be a ladder height (144, 240, 360, 480, 720, 1080, 1440, 2160)");
        check.Require(SegmentSeconds is >= 2 and <= 4, "Pipeline:SegmentSeconds", SegmentSeconds, "must be between 2 and 4");
        check.Require(FirstSegmentSeconds == 0 || (FirstSegmentSeconds >= 0.5 && FirstSegmentSeconds <= SegmentSeconds / 2.0), "Pipeline:FirstSegmentSeconds", FirstSegmentSeconds, "must be 0 (off) or between 0.5 and half of Pipeline:SegmentSeconds");
        check.Require(ChunkSeconds >= SegmentSeconds && SegmentSeconds > 0 && ChunkSeconds % SegmentSeconds == 0, "Pipeline:ChunkSeconds", ChunkSeconds, "must be a positive multiple of Pipeline:SegmentSeconds");
        check.Require(MaxParallelEncodes is >= 1 and <= 256, "Pipeline:MaxParallelEncodes", MaxParallelEncodes, "must be between 1 and 256");
        check.Require(ChunkLease >= TimeSpan.FromSeconds(3) && ChunkLease <= TimeSpan.FromMinutes(10), "Pipeline:ChunkLease", ChunkLease, "must be between 00:00:03 and 00:10:00");
        check.Require(ChunkPollInterval >= TimeSpan.FromMilliseconds(50) && ChunkPollInterval <= TimeSpan.FromMinutes(1), "Pipeline:ChunkPollInterval", ChunkPollInterval, "must be between 00:00:00.05 and 00:01:00");
        check.Require(X264Preset is "ultrafast" or "superfast" or "veryfast" or "faster" or "fast" or "medium" or "slow" or "slower" or "veryslow", "Pipeline:X264Preset", X264Preset, "must be an x264 preset (ultrafast … veryslow)");
        check.Require(X265Preset is "ultrafast" or "superfast" or "veryfast" or "faster" or "fast" or "medium" or "slow" or "slower" or "veryslow", "Pipeline:X265Preset", X265Preset, "must be an x265 preset (ultrafast … veryslow)");
        check.Require(Vp9CpuUsed is >= 0 and <= 8, "Pipeline:Vp9CpuUsed", Vp9CpuUsed, "must be between 0 and 8");
        check.Require(SvtAv1Preset is >= 0 and <= 13, "Pipeline:SvtAv1Preset", SvtAv1Preset, "must be between 0 and 13");
        check.Require(AudioBitrateKbps is >= 32 and <= 512, "Pipeline:AudioBitrateKbps", AudioBitrateKbps, "must be between 32 and 512");
        check.Require(MaxAttempts is >= 1 and <= 20, "Pipeline:MaxAttempts", MaxAttempts, "must be between 1 and 20");
        check.Require(RetryDelay >= TimeSpan.Zero && RetryDelay <= TimeSpan.FromHours(1), "Pipeline:RetryDelay", RetryDelay, "must be between 00:00:00 and 01:00:00");
        check.Require(ProcessTimeout >= TimeSpan.FromSeconds(5), "Pipeline:ProcessTimeout", ProcessTimeout, "must be at least 00:00:05");
        check.Require(StoryboardIntervalSeconds is >= 0 and <= 600, "Pipeline:StoryboardIntervalSeconds", StoryboardIntervalSeconds, "must be between 0 and 600");
        Sandbox.Validate(check);
        Protection.Validate(check);
        Database.Validate(check, "Pipeline:Database");
    }
}
