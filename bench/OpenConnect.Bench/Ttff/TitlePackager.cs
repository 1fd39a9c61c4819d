using System.Globalization;
using System.Text.RegularExpressions;
using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Packages a synthetic title with ffmpeg the way the origin lays titles out: <c>master.m3u8</c>,
/// <c>manifest.mpd</c>, and per rendition <c>rN/index.m3u8</c>, <c>rN/init.mp4</c>,
/// <c>rN/seg-NNNNN.m4s</c> (two H.264 video renditions, one AAC audio, 2 s fMP4 segments).
/// </summary>
internal static partial class TitlePackager
{
    public static async Task PackageAsync(string directory, int seconds, CancellationToken cancellationToken)
    {
        foreach (var rendition in new[] { "r0", "r1", "r2" })
        {
            Directory.CreateDirectory(Path.Combine(directory, rendition));
        }

        var s = seconds.ToString(CultureInfo.InvariantCulture);
        string[] args =
        [
            "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size=1280x720:rate=30:duration={s}",
            "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=48000:duration={s}",
            "-map", "0:v", "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
            "-filter:v:0", "scale=1280:720", "-b:v:0", "2500k", "-filter:v:1", "scale=640:360", "-b:v:1", "800k",
            "-c:a", "aac", "-b:a", "96k", "-ac", "2",
            "-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "0",
            "-adaptation_sets", "id=0,streams=v id=1,streams=a",
            "-init_seg_name", "r$RepresentationID$/init.mp4", "-media_seg_name", "r$RepresentationID$/seg-$Number%05d$.m4s",
            "-hls_playlist", "1", "-hls_master_name", "master.m3u8",
            Path.Combine(directory, "manifest.mpd"),
        ];
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
