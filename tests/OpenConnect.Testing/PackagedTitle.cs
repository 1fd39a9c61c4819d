using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace OpenConnect.Testing;

/// <summary>
/// A published-package fixture made with real ffmpeg (dash muxer, fragmented MP4): two H.264 video
/// renditions and one AAC audio rendition in 1 s segments, with
/// <list type="bullet">
/// <item><c>master.m3u8</c>: multivariant playlist with an <c>EXT-X-MEDIA</c> audio group;</item>
/// <item><c>{rendition}/index.m3u8</c>, <c>{rendition}/init.mp4</c>, <c>{rendition}/seg-NNNNN.m4s</c> (renditions <c>r0</c>, <c>r1</c> video, <c>r2</c> audio);</item>
/// <item><c>manifest.mpd</c> referencing the same files.</item>
/// </list>
/// Built once per test run into a cache directory; <see cref="CopyToAsync"/> gives each test its own
/// copy to publish (publishing consumes the staging directory).
/// </summary>
public static partial class PackagedTitle
{
    private static readonly ConcurrentDictionary<double, Lazy<Task<string>>> Built = new();

    /// <summary>Copies a package of <paramref name="seconds"/> seconds into a new directory <paramref name="destination"/>.</summary>
    public static async Task CopyToAsync(string destination, double seconds = 4)
    {
        var source = await Built.GetOrAdd(seconds, s => new Lazy<Task<string>>(() => BuildAsync(s))).Value;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static async Task<string> BuildAsync(double seconds)
    {
        var secondsText = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var final = Path.Combine(SampleMedia.CacheDirectory, $"package-{secondsText}s-v1");
        if (Directory.Exists(final))
        {
            return final;
        }

        var work = Path.Combine(SampleMedia.CacheDirectory, $".package-{Guid.NewGuid():N}");
        foreach (var rendition in new[] { "r0", "r1", "r2" })
        {
            Directory.CreateDirectory(Path.Combine(work, rendition));
        }

        string[] args =
        [
            "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size=640x360:rate=30:duration={secondsText}",
            "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=48000:duration={secondsText}",
            "-map", "0:v", "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
            "-filter:v:0", "scale=640:360", "-b:v:0", "600k", "-filter:v:1", "scale=320:180", "-b:v:1", "200k",
            "-c:a", "aac", "-b:a", "64k", "-ac", "2",
            "-f", "dash", "-seg_duration", "1", "-use_template", "1", "-use_timeline", "0",
            "-adaptation_sets", "id=0,streams=v id=1,streams=a",
            "-init_seg_name", "r$RepresentationID$/init.mp4", "-media_seg_name", "r$RepresentationID$/seg-$Number%05d$.m4s",
            "-hls_playlist", "1", "-hls_master_name", "master.m3u8",
            "manifest.mpd",
        ];
        var result = await ExternalProcess.RunAsync("ffmpeg", args, TimeSpan.FromMinutes(2), work);
        if (result.ExitCode != 0)
        {
            Directory.Delete(work, recursive: true);
            throw new InvalidOperationException($"ffmpeg failed to package the test title (exit {result.ExitCode}): {result.StandardError}");
        }

        // ffmpeg names media playlists media_N.m3u8 beside the master; the package layout keeps each
        // rendition's playlist in its folder: rN/index.m3u8 with segment URIs relative to it.
        var master = await File.ReadAllTextAsync(Path.Combine(work, "master.m3u8"));
        foreach (var playlist in Directory.GetFiles(work, "media_*.m3u8"))
        {
            var index = MediaIndex().Match(Path.GetFileName(playlist)).Groups[1].Value;
            var rendition = "r" + index;
            var text = await File.ReadAllTextAsync(playlist);
            text = string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("#EXT-X-PROGRAM-DATE-TIME", StringComparison.Ordinal)))
                .Replace(rendition + "/", "", StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(work, rendition, "index.m3u8"), text);
            File.Delete(playlist);
            master = master.Replace($"media_{index}.m3u8", $"{rendition}/index.m3u8", StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(Path.Combine(work, "master.m3u8"), master);
        try
        {
            Directory.Move(work, final);
        }
        catch (IOException) when (Directory.Exists(final))
        {
            // Another test process finished the same package first.
            Directory.Delete(work, recursive: true);
        }

        return final;
    }

    [GeneratedRegex(@"^media_(\d+)\.m3u8$")]
    private static partial Regex MediaIndex();
}
