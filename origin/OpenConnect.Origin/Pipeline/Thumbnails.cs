using System.Globalization;
using System.Text;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Luma and sharpness of one sampled frame.</summary>
public sealed record FrameScore(double Time, double LumaAverage, double LumaRange, double Blur);

/// <summary>
/// The poster and the storyboard. Candidate frames are sampled across the title and scored with
/// <c>signalstats</c> (mean luma and spread: rejects black, white and flat frames) and
/// <c>blurdetect</c> (rejects soft frames); the sharpest acceptable frame becomes
/// <c>poster.jpg</c>. The storyboard is 160×90 thumbnails tiled 5×5 per sprite
/// (<c>storyboard-001.jpg</c> …) indexed by <c>storyboard.vtt</c>.
/// </summary>
public sealed class Thumbnails(Ffmpeg ffmpeg, PipelineOptions options)
{
    public const int TileWidth = 160;
    public const int TileHeight = 90;
    public const int Columns = 5;
    public const int Rows = 5;
    public const double MinLuma = 40;
    public const double MaxLuma = 225;
    public const double MinLumaRange = 24;

    public async Task WriteAsync(string sourceFile, SourceInfo source, string workDirectory, string packageDirectory, CancellationToken cancellationToken)
    {
        var duration = source.DurationSeconds;
        var format = MediaInputFormat.ForContainer(source.Container);
        var statsFile = Path.Combine(workDirectory, "frame-stats.txt");
        File.Delete(statsFile);
        var rate = Math.Min(2.0, 40.0 / Math.Max(duration, 1));
        var sampling = string.Create(CultureInfo.InvariantCulture, $"fps={rate:0.######},scale=320:-2,signalstats,blurdetect,metadata=print:file=frame-stats.txt");
        await ffmpeg.RunAsync(sourceFile, format, "", "-", $"-an -sn -dn -vf \"{sampling}\" -f null", workDirectory, TimeSpan.FromSeconds(duration), null, cancellationToken);
        var scores = ParseFrameStats(await File.ReadAllTextAsync(statsFile, cancellationToken), rate);
        var posterTime = ChoosePoster(scores, duration);

        var (width, height) = Ladder.FrameSize(source.Width, source.Height, Math.Min(720, Math.Min(source.Width, source.Height) & ~1));
        var poster = Path.Combine(packageDirectory, "poster.jpg");
        var posterTemp = DurableFile.TempFor(poster);
        await ffmpeg.RunAsync(
            sourceFile,
            format,
            string.Create(CultureInfo.InvariantCulture, $"-ss {posterTime:0.###}"),
            posterTemp,
            string.Create(CultureInfo.InvariantCulture, $"-an -frames:v 1 -vf \"scale={width}:{height},setsar=1\" -q:v 3 -update 1"),
            workDirectory,
            null,
            null,
            cancellationToken);
        DurableFile.Commit(posterTemp, poster);

        var interval = options.StoryboardIntervalSeconds > 0 ? options.StoryboardIntervalSeconds : Math.Max(1, (int)Math.Ceiling(duration / 100));
        var spriteDirectory = Path.Combine(workDirectory, $"storyboard.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(spriteDirectory);
        try
        {
            var tiles = string.Create(CultureInfo.InvariantCulture, $"fps=1/{interval},scale={TileWidth}:{TileHeight}:force_original_aspect_ratio=decrease,pad={TileWidth}:{TileHeight}:(ow-iw)/2:(oh-ih)/2,setsar=1,tile={Columns}x{Rows}");
            await ffmpeg.RunAsync(sourceFile, format, "", Path.Combine(spriteDirectory, "storyboard-%03d.jpg"), $"-an -sn -dn -vf \"{tiles}\" -q:v 5 -start_number 1", workDirectory, TimeSpan.FromSeconds(duration), null, cancellationToken);
            var sprites = Directory.GetFiles(spriteDirectory, "storyboard-*.jpg").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
            if (sprites.Count == 0)
            {
                throw new InvalidDataException("the storyboard produced no sprites");
            }

            var count = Math.Min((int)Math.Ceiling(duration / interval), sprites.Count * Columns * Rows);
            foreach (var sprite in sprites)
            {
                DurableFile.Commit(Path.Combine(spriteDirectory, sprite), Path.Combine(packageDirectory, sprite));
            }

            DurableFile.WriteAllText(Path.Combine(packageDirectory, "storyboard.vtt"), StoryboardVtt(count, interval, duration));
        }
        finally
        {
            Directory.Delete(spriteDirectory, recursive: true);
        }
    }

    /// <summary>Parses <c>metadata=print</c> output of <c>signalstats,blurdetect</c>.</summary>
    public static List<FrameScore> ParseFrameStats(string text, double rate)
    {
        var scores = new List<FrameScore>();
        double? time = null;
        double yavg = 0, ylow = 0, yhigh = 0, blur = double.NaN;
        var index = 0;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("frame:", StringComparison.Ordinal))
            {
                Flush();
                var at = line.IndexOf("pts_time:", StringComparison.Ordinal);
                time = at >= 0 && double.TryParse(line[(at + 9)..].Split(' ')[0], CultureInfo.InvariantCulture, out var t) ? t : index / rate;
                index++;
                yavg = ylow = yhigh = 0;
                blur = double.NaN;
            }
            else if (TryValue(line, "lavfi.signalstats.YAVG=", out var v))
            {
                yavg = v;
            }
            else if (TryValue(line, "lavfi.signalstats.YLOW=", out v))
            {
                ylow = v;
            }
            else if (TryValue(line, "lavfi.signalstats.YHIGH=", out v))
            {
                yhigh = v;
            }
            else if (TryValue(line, "lavfi.blur=", out v))
            {
                blur = v;
            }
        }

        Flush();
        return scores;

        void Flush()
        {
            if (time is { } t)
            {
                scores.Add(new FrameScore(t, yavg, yhigh - ylow, double.IsNaN(blur) ? double.MaxValue : blur));
            }
        }
    }

    /// <summary>
    /// The poster time: among frames that are neither dark, bright nor flat, the least blurred
    /// (ties to the earlier frame); when none qualifies, the brightest-spread frame; the middle of
    /// the title when nothing was sampled.
    /// </summary>
    public static double ChoosePoster(IReadOnlyList<FrameScore> scores, double duration)
    {
        var usable = scores.Where(s => s.LumaAverage >= MinLuma && s.LumaAverage <= MaxLuma && s.LumaRange >= MinLumaRange).ToList();
        if (usable.Count > 0)
        {
            return usable.OrderBy(s => s.Blur).ThenBy(s => s.Time).First().Time;
        }

        if (scores.Count > 0)
        {
            return scores.OrderByDescending(s => s.LumaRange).ThenByDescending(s => s.LumaAverage).First().Time;
        }

        return duration / 2;
    }

    /// <summary>The WebVTT index: one cue per thumbnail pointing at its tile (<c>storyboard-001.jpg#xywh=x,y,w,h</c>).</summary>
    public static string StoryboardVtt(int count, int interval, double duration)
    {
        var text = new StringBuilder("WEBVTT\n\n");
        for (var i = 0; i < count; i++)
        {
            var start = (double)i * interval;
            var end = Math.Min(start + interval, duration);
            if (end <= start)
            {
                break;
            }

            var sprite = (i / (Columns * Rows)) + 1;
            var cell = i % (Columns * Rows);
            var x = cell % Columns * TileWidth;
            var y = cell / Columns * TileHeight;
            text.Append(CultureInfo.InvariantCulture, $"{Timestamp(start)} --> {Timestamp(end)}\nstoryboard-{sprite:d3}.jpg#xywh={x},{y},{TileWidth},{TileHeight}\n\n");
        }

        return text.ToString();
    }

    private static string Timestamp(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours:d2}:{t.Minutes:d2}:{t.Seconds:d2}.{t.Milliseconds:d3}");
    }

    private static bool TryValue(string line, string prefix, out double value)
    {
        value = 0;
        return line.StartsWith(prefix, StringComparison.Ordinal) && double.TryParse(line[prefix.Length..], CultureInfo.InvariantCulture, out value);
    }
}
