using OpenConnect.Origin.Pipeline.Cenc;

namespace OpenConnect.Origin.Pipeline;

/// <summary>CMAF packaging: one folder of fMP4 segments per rendition, HLS and DASH manifests over them.</summary>
public sealed partial class TitleProcessor
{
    public const string AudioRendition = "audio";

    /// <summary>The only video codec a protected title is produced in (see <see cref="ProtectedRungs"/>).</summary>
    public const string ProtectedCodec = "h264";

    /// <summary>
    /// Cuts each rung (and the audio) into <c>init.mp4</c> + <c>seg-NNNNN.m4s</c> with ffmpeg's HLS
    /// muxer in fMP4 mode (stream copy; the cuts fall on the forced keyframes, so every rung has the
    /// same segment boundaries; a video rung's first segment ends at the first chunk's extra keyframe
    /// when <see cref="FirstSegmentSeconds"/> gives one), then writes our own media playlists, the
    /// multivariant playlist and the MPD. Built in a temporary directory and renamed to <c>package/</c> when complete.
    /// A protected title's segments are then encrypted in place with its key (<c>cenc</c>, one key
    /// id for audio and video) and its manifests carry the key signalling.
    /// </summary>
    private async Task PackageAsync(string titleId, TitlePlan plan, CancellationToken cancellationToken)
    {
        var (key, protection) = ProtectionOf(titleId);
        var work = _paths.Work(titleId);
        var package = _paths.Package(titleId);
        var staging = Path.Combine(work, $"package.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var video = new List<PackagedTrack>();
            foreach (var rung in plan.Rungs)
            {
                var segments = await SegmentAsync(RungFile(titleId, rung), staging, rung.Name, CutSeconds(plan, FirstSegmentSeconds(plan.Rungs, _options)), cancellationToken);
                var codecs = CodecString.FromInitSegment(Path.Combine(staging, rung.Name, "init.mp4"));
                segments = Protect(staging, rung.Name, segments, key, protection);
                video.Add(new PackagedTrack(rung.Name, true, rung.Codec, codecs, rung.Width, rung.FrameHeight, plan.FrameRate, rung.BitrateKbps, segments));
            }

            PackagedTrack? audio = null;
            if (plan.HasAudio)
            {
                var segments = await SegmentAsync(AudioFile(titleId), staging, AudioRendition, plan.SegmentSeconds, cancellationToken);
                var codecs = CodecString.FromInitSegment(Path.Combine(staging, AudioRendition, "init.mp4"));
                segments = Protect(staging, AudioRendition, segments, key, protection);
                audio = new PackagedTrack(AudioRendition, false, "aac", codecs, 0, 0, 0, _options.AudioBitrateKbps, segments);
            }

            foreach (var track in video.Append(audio).OfType<PackagedTrack>())
            {
                File.WriteAllText(Path.Combine(staging, track.Name, "index.m3u8"), Manifests.MediaPlaylist(track, protection));
            }

            File.WriteAllText(Path.Combine(staging, "master.m3u8"), Manifests.MultivariantPlaylist(video, audio, protection));
            File.WriteAllText(Path.Combine(staging, "manifest.mpd"), Manifests.Mpd(video, audio, plan.SegmentSeconds, protection));
            DurableFile.FlushTree(staging);
            if (Directory.Exists(package))
            {
                Directory.Delete(package, recursive: true);
            }

            Directory.Move(staging, package);
            _store.SetRenditions(titleId, video.Select(t => new RenditionInfo(t.Name, t.Codec, t.Width, t.Height, t.BitrateKbps, t.Codecs, t.PeakBandwidth, t.AverageBandwidth, t.Segments.Count)).ToList());
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>
    /// The short first segment of a title's video renditions (<see cref="PipelineOptions.FirstSegmentSeconds"/>),
    /// or 0: only when every rung is H.264. x265 and SVT-AV1 as ffmpeg drives them ignore a forced
    /// keyframe inside a GOP, so a title with such rungs would have renditions cut at different instants.
    /// </summary>
    internal static double FirstSegmentSeconds(IReadOnlyList<Rung> rungs, PipelineOptions options) =>
        rungs.All(r => r.Codec == ProtectedCodec) ? options.FirstSegmentSeconds : 0;

    /// <summary>
    /// ffmpeg's HLS muxer cuts at the first keyframe past each multiple of <c>-hls_time</c>, counted
    /// from the start. With keyframes at 0, the short first cut F and every segment length S after,
    /// cutting at multiples of F (F ≤ S/2, checked at start) cuts at each keyframe: F, S, 2S, …
    /// Without a short first segment, the segment length. A title encoded before the extra keyframe
    /// existed has none, so its segments stay S long.
    /// </summary>
    internal static double CutSeconds(TitlePlan plan, double firstSegmentSeconds) =>
        firstSegmentSeconds > 0 && firstSegmentSeconds < plan.SegmentSeconds ? firstSegmentSeconds : plan.SegmentSeconds;

    /// <summary>
    /// Cuts one rendition's file into fMP4 segments at keyframes, one every <paramref name="cutSeconds"/>
    /// at the most. Audio is cut at the segment length: a short first audio segment would make every
    /// audio segment short (every AAC frame is a keyframe).
    /// </summary>
    private async Task<List<Segment>> SegmentAsync(string input, string staging, string rendition, double cutSeconds, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(staging, rendition);
        Directory.CreateDirectory(directory);
        var playlist = Path.Combine(directory, "ffmpeg.m3u8");
        var arguments = $"-c copy -f hls -hls_time {cutSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} -hls_playlist_type vod -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 -start_number 1 -hls_segment_filename {Ffmpeg.Quote(Path.Combine(directory, "seg-%05d.m4s"))}";
        await _ffmpeg.RunAsync(input, MediaInputFormat.Intermediate, "", playlist, arguments, staging, null, null, cancellationToken);
        var parsed = Manifests.ParseMediaPlaylist(await File.ReadAllTextAsync(playlist, cancellationToken));
        File.Delete(playlist);
        if (parsed.Count == 0)
        {
            throw new InvalidDataException($"packaging {rendition} produced no segments");
        }

        return parsed.Select(s => new Segment(s.File, s.Duration, new FileInfo(Path.Combine(directory, s.File)).Length)).ToList();
    }

    /// <summary>The title's key and signalling when it is protected; (null, null) otherwise.</summary>
    private (Protection.TitleKey? Key, CencSignalling? Signalling) ProtectionOf(string titleId)
    {
        if (_store.Get(titleId)?.IsProtected != true)
        {
            return (null, null);
        }

        var key = _keys.GetOrCreate(titleId);
        return (key, new CencSignalling(key.KeyId, _options.Protection.Systems));
    }

    /// <summary>Encrypts a rendition's init segment and media segments in place; the segment sizes change (senc, saiz, saio).</summary>
    private static List<Segment> Protect(string staging, string rendition, List<Segment> segments, Protection.TitleKey? key, CencSignalling? protection)
    {
        if (key is null || protection is null)
        {
            return segments;
        }

        var directory = Path.Combine(staging, rendition);
        var initPath = Path.Combine(directory, "init.mp4");
        var (init, track) = CencEncryptor.ProtectInit(File.ReadAllBytes(initPath), key.KeyId, protection.PsshBoxes);
        File.WriteAllBytes(initPath, init);
        var result = new List<Segment>(segments.Count);
        foreach (var segment in segments)
        {
            var path = Path.Combine(directory, segment.File);
            var encrypted = CencEncryptor.ProtectSegment(File.ReadAllBytes(path), track, key.Key);
            File.WriteAllBytes(path, encrypted);
            result.Add(segment with { Bytes = encrypted.Length });
        }

        return result;
    }

    /// <summary>
    /// A protected title's rungs: H.264 only. ffmpeg's and our <c>cenc</c> subsample encryption is
    /// defined for AVC NAL units; HEVC, VP9 and AV1 would need their own subsample rules.
    /// </summary>
    private IReadOnlyList<Rung> ProtectedRungs(string titleId, IReadOnlyList<Rung> rungs)
    {
        if (_store.Get(titleId)?.IsProtected != true || rungs.All(r => r.Codec == ProtectedCodec))
        {
            return rungs;
        }

        var dropped = rungs.Where(r => r.Codec != ProtectedCodec).Select(r => r.Codec).Distinct();
        Log.ProtectedCodecsDropped(_logger, titleId, string.Join(",", dropped));
        return [.. rungs.Where(r => r.Codec == ProtectedCodec)];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Title {TitleId} is protected: only H.264 is produced, not {Codecs}")]
        public static partial void ProtectedCodecsDropped(ILogger logger, string titleId, string codecs);
    }
}
