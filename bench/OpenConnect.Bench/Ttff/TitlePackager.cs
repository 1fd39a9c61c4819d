using System.Globalization;
using System.Text.RegularExpressions;
using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Packages a synthetic title with ffmpeg the way the origin lays titles out: <c>master.m3u8</c>,
/// <c>manifest.mpd</c>, and per rendition <c>rN/index.m3u8</c>, <c>rN/init.mp4</c>,
/// <c>rN/seg-NNNNN.m4s</c> (H.264 video renditions, by default two, one AAC audio, fMP4 segments,
/// by default 2 s; the first segment of each rendition may be cut shorter, at the same time in every
/// rendition, so a player's first request is small).
/// </summary>
internal static partial class TitlePackager
{
    /// <summary>The ttff ladder: 720p at 2,500 kbit/s and 360p at 800 kbit/s.</summary>
    public static readonly IReadOnlyList<VideoRung> TwoRungs = [new(1280, 720, 2500), new(640, 360, 800)];

    public static Task PackageAsync(string directory, int seconds, CancellationToken cancellationToken) =>
        PackageAsync(directory, seconds, TwoRungs, 2, cancellationToken);

    public static Task PackageAsync(string directory, int seconds, IReadOnlyList<VideoRung> rungs, int segmentSeconds, CancellationToken cancellationToken) =>
        PackageAsync(directory, seconds, rungs, segmentSeconds, segmentSeconds, cancellationToken);

    /// <summary>
    /// Packages <paramref name="rungs"/> (renditions <c>r0</c>.. in the given order) plus one AAC
    /// audio rendition (the last <c>rN</c>), in <paramref name="segmentSeconds"/>-second segments.
    /// When <paramref name="firstSegmentSeconds"/> is shorter, every rendition's first segment ends there
    /// (a forced keyframe in each video rendition), the second at <paramref name="segmentSeconds"/>, and
    /// the rest keep the regular grid; the MPD then lists the segments in a SegmentTimeline.
    /// </summary>
    public static async Task PackageAsync(string directory, int seconds, IReadOnlyList<VideoRung> rungs, int segmentSeconds, double firstSegmentSeconds, CancellationToken cancellationToken)
    {
        var shortFirst = firstSegmentSeconds < segmentSeconds;
        for (var i = 0; i <= rungs.Count; i++)
        {
            Directory.CreateDirectory(Path.Combine(directory, "r" + i.ToString(CultureInfo.InvariantCulture)));
        }

        var s = seconds.ToString(CultureInfo.InvariantCulture);
        var top = rungs.MaxBy(r => r.Height)!;
        var gop = (30 * segmentSeconds).ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size={top.Width}x{top.Height}:rate=30:duration={s}",
            "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=48000:duration={s}",
        };
        foreach (var _ in rungs)
        {
            args.AddRange(["-map", "0:v"]);
        }

        args.AddRange(["-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"]);
        if (shortFirst)
        {
            // Keyframes at 0, the short cut, and every segmentSeconds; ffmpeg's DASH muxer cuts at the first
            // keyframe past each multiple of its segment duration, so a duration of the short cut cuts at each.
            // Audio (every AAC frame a keyframe) is then cut at the short length throughout; the origin
            // keeps audio on the regular grid.
            args.AddRange(["-force_key_frames", string.Create(CultureInfo.InvariantCulture, $"expr:eq(n_forced,0)+eq(n_forced,1)*gte(t,{firstSegmentSeconds})+gte(t,(n_forced-1)*{segmentSeconds})*gte(n_forced,2)")]);
        }

        for (var i = 0; i < rungs.Count; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            args.AddRange([$"-filter:v:{n}", string.Create(CultureInfo.InvariantCulture, $"scale={rungs[i].Width}:{rungs[i].Height}"), $"-b:v:{n}", string.Create(CultureInfo.InvariantCulture, $"{rungs[i].Kbps}k")]);
        }

        args.AddRange(
        [
            "-c:a", "aac", "-b:a", "96k", "-ac", "2",
            "-f", "dash", "-seg_duration", firstSegmentSeconds.ToString(CultureInfo.InvariantCulture), "-use_template", "1", "-use_timeline", shortFirst ? "1" : "0",
            "-adaptation_sets", "id=0,streams=v id=1,streams=a",
            "-init_seg_name", "r$RepresentationID$/init.mp4", "-media_seg_name", "r$RepresentationID$/seg-$Number%05d$.m4s",
            "-hls_playlist", "1", "-hls_master_name", "master.m3u8",
            Path.Combine(directory, "manifest.mpd"),
        ]);
        var (exit, output) = await ChildProcess.RunAsync("ffmpeg", args, TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
        if (exit != 0)
        {
            throw new InvalidOperationException($"ffmpeg failed to package the title (exit {exit}): {output}");
        }

        // ffmpeg writes media playlists as media_N.m3u8 beside the master; move each into its rendition folder.
        var master = await File.ReadAllTextAsync(Path.Combine(directory, "master.m3u8"), cancellationToken).ConfigureAwait(false);
        foreach (var playlist in Directory.GetFiles(directory, "media_*.m3u8"))
        {
            var index = MediaIndex().Match(Path.GetFileName(playlist)).Groups[1].Value;
            var rendition = "r" + index;
            var text = await File.ReadAllTextAsync(playlist, cancellationToken).ConfigureAwait(false);
            text = string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("#EXT-X-PROGRAM-DATE-TIME", StringComparison.Ordinal)))
                .Replace(rendition + "/", "", StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(directory, rendition, "index.m3u8"), text, cancellationToken).ConfigureAwait(false);
            File.Delete(playlist);
            master = master.Replace($"media_{index}.m3u8", $"{rendition}/index.m3u8", StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "master.m3u8"), master, cancellationToken).ConfigureAwait(false);
    }

    [GeneratedRegex(@"^media_(\d+)\.m3u8$")]
    private static partial Regex MediaIndex();
}

/// <summary>One H.264 rendition to package: frame size and target bitrate.</summary>
internal sealed record VideoRung(int Width, int Height, int Kbps);
