using System.Globalization;
using System.Text.Json;

namespace OpenConnect.Origin.Pipeline;

/// <summary>The verdict on a source file: its facts when usable, otherwise why not.</summary>
public sealed record ProbeResult(SourceInfo? Source, string? Rejection, string Extension);

/// <summary>
/// Decides whether a file is a source the pipeline can process: ffprobe must read it as MP4, MOV or
/// Matroska (no other demuxer is allowed to open it, see <see cref="MediaInputFormat"/>) with a video
/// stream within the size and length limits, and ffmpeg must actually decode its first frames (a
/// stream whose codec is unknown or whose payload is corrupt is caught here, not half-way through
/// the ladder). Both run in the <see cref="MediaToolSandbox"/> under the probe limits. Reasons name
/// what is wrong with the file, never a path or the tools' own output (that goes to the log).
/// </summary>
public sealed class SourceProbe(MediaToolSandbox sandbox)
{
    private const int MaxProbeOutput = 4 * 1024 * 1024;

    /// <summary>A probe with the default sandbox limits and the given probe timeout (for tools outside a host).</summary>
    public SourceProbe(TimeSpan probeTimeout)
        : this(new MediaToolSandbox(new MediaSandboxOptions { ProbeTimeout = probeTimeout }, Microsoft.Extensions.Logging.Abstractions.NullLogger<MediaToolSandbox>.Instance))
    {
    }

    public async Task<ProbeResult> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        var options = sandbox.Options;
        var arguments = $"-hide_banner -v error {MediaInputFormat.AnyUpload.Arguments} -of json -show_format -show_streams {Ffmpeg.Quote(MediaInputFormat.InputUrl(path))}";
        var run = await sandbox.RunAsync("ffprobe", arguments, options.ProbeLimits, Path.GetDirectoryName(Path.GetFullPath(path))!, null, MaxProbeOutput, cancellationToken);
        if (!run.Succeeded)
        {
            if (RefusedFormat(run.ErrorTail) is { } refused)
            {
                return Reject($"container '{refused}' is not accepted: upload MP4, MOV or MKV");
            }

            return Reject(run.HitLimit
                ? $"the file could not be examined within the limits: {run.Summary}"
                : "not a readable video file: ffprobe could not parse it as MP4, MOV or MKV");
        }

        ProbedMedia media;
        try
        {
            media = ProbedMedia.Parse(run.StandardOutput);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            return Reject("not a readable video file: ffprobe could not parse it");
        }

        string extension;
        if (media.FormatName.Contains("matroska", StringComparison.Ordinal))
        {
            extension = "mkv";
        }
        else if (media.FormatName.Contains("mp4", StringComparison.Ordinal) || media.FormatName.Contains("mov", StringComparison.Ordinal))
        {
            extension = media.MajorBrand == "qt" ? "mov" : "mp4";
        }
        else
        {
            return Reject($"container '{media.FormatName}' is not accepted: upload MP4, MOV or MKV");
        }

        var video = media.Streams.FirstOrDefault(s => s.Type == "video" && !s.AttachedPicture);
        if (video is null)
        {
            return Reject(media.Streams.Any(s => s.Type == "audio")
                ? "the file has audio but no video stream: audio-only uploads are not accepted"
                : "the file has no video stream");
        }

        if (string.IsNullOrEmpty(video.CodecName) || video.CodecName == "none" || video.Width <= 0 || video.Height <= 0)
        {
            return Reject($"the video stream's codec ('{video.CodecName}', tag '{video.CodecTag}') is unknown to ffmpeg and cannot be decoded");
        }

        if (video.Width > options.MaxSourceDimension || video.Height > options.MaxSourceDimension)
        {
            return Reject(string.Create(CultureInfo.InvariantCulture, $"the video frame ({video.Width}x{video.Height}) is larger than the limit of {options.MaxSourceDimension} pixels per side"));
        }

        var audio = media.Streams.FirstOrDefault(s => s.Type == "audio");
        var duration = Math.Max(media.Duration, Math.Max(video.Duration, audio?.Duration ?? 0));
        if (duration <= 0 || double.IsNaN(duration))
        {
            return Reject("the video has no duration");
        }

        if (duration > options.MaxSourceDuration.TotalSeconds)
        {
            return Reject(string.Create(CultureInfo.InvariantCulture, $"the video is longer ({TimeSpan.FromSeconds(Math.Floor(Math.Min(duration, TimeSpan.MaxValue.TotalSeconds / 2)))}) than the limit of {options.MaxSourceDuration}"));
        }

        var decode = await TryDecodeAsync(path, MediaInputFormat.ForContainer(extension), cancellationToken);
        if (decode is { HitLimit: true })
        {
            return Reject($"decoding the {video.CodecName} video stream went over a limit: {decode.Summary}");
        }

        if (decode is not null)
        {
            return Reject($"the {video.CodecName} video stream cannot be decoded: ffmpeg could not decode its first frames");
        }

        var (width, height) = DisplaySize(video);
        var fps = video.AverageFrameRate > 0 && !double.IsNaN(video.AverageFrameRate) ? video.AverageFrameRate : video.RealFrameRate;
        if (fps <= 0 || double.IsNaN(fps) || fps > 240)
        {
            fps = 30;
        }

        return new ProbeResult(new SourceInfo(extension, duration, width, height, video.CodecName, Math.Round(fps, 3), audio?.CodecName), null, extension);

        ProbeResult Reject(string reason) => new(null, reason, "");
    }

    /// <summary>
    /// The demuxer ffprobe recognised but was not allowed to use, from its log line
    /// <c>[hls @ 0x55…] Format not on whitelist 'mov,matroska'</c>; null for any other failure.
    /// </summary>
    public static string? RefusedFormat(string errors)
    {
        foreach (var line in errors.Split(['\n', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.Contains("Format not on whitelist", StringComparison.Ordinal) || !line.StartsWith('['))
            {
                continue;
            }

            var end = line.IndexOf(" @ ", StringComparison.Ordinal);
            var name = end > 1 ? line[1..end] : "";
            return name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ',') ? name : "unknown";
        }

        return null;
    }

    /// <summary>The frame size as shown: sample aspect ratio applied, rotated by 90° when the stream says so.</summary>
    private static (int Width, int Height) DisplaySize(ProbedStream video)
    {
        var width = video.Width;
        var height = video.Height;
        var (sarW, sarH) = video.SampleAspectRatio;
        if (sarW > 0 && sarH > 0 && sarW != sarH)
        {
            width = (int)Math.Round((double)width * sarW / sarH);
        }

        return Math.Abs(video.Rotation) % 180 == 90 ? (height, width) : (width, height);
    }

    /// <summary>Decodes the first frames; null when that works, else the failed run.</summary>
    private async Task<MediaToolResult?> TryDecodeAsync(string path, MediaInputFormat format, CancellationToken cancellationToken)
    {
        try
        {
            var ffmpeg = new Ffmpeg(sandbox, sandbox.Options.ProbeTimeout);
            await ffmpeg.RunAsync(path, format, "-xerror", "-", "-map 0:v:0 -frames:v 5 -f null", Path.GetTempPath(), null, null, cancellationToken, sandbox.Options.ProbeLimits);
            return null;
        }
        catch (FfmpegFailedException ex) when (ex.Result is not null)
        {
            return ex.Result;
        }
    }
}

/// <summary>What ffprobe's JSON (<c>-show_format -show_streams</c>) says about a file, the parts the probe uses.</summary>
internal sealed record ProbedMedia(string FormatName, string MajorBrand, double Duration, IReadOnlyList<ProbedStream> Streams)
{
    public static ProbedMedia Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var format = root.GetProperty("format");
        var streams = new List<ProbedStream>();
        if (root.TryGetProperty("streams", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var stream in list.EnumerateArray())
            {
                streams.Add(ProbedStream.Parse(stream));
            }
        }

        var brand = format.TryGetProperty("tags", out var tags) ? Text(tags, "major_brand").Trim() : "";
        return new ProbedMedia(Text(format, "format_name"), brand, Number(format, "duration"), streams);
    }

    internal static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";

    internal static double Number(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return 0;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => 0,
        };
    }

    /// <summary>A ratio such as <c>30000/1001</c> or <c>16:9</c>; zero when absent or undefined.</summary>
    internal static (int Numerator, int Denominator) Ratio(string text)
    {
        var at = text.IndexOfAny(['/', ':']);
        return at > 0
            && int.TryParse(text.AsSpan(0, at), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            && int.TryParse(text.AsSpan(at + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var d)
            ? (n, d)
            : (0, 0);
    }
}

/// <summary>One stream of <see cref="ProbedMedia"/>.</summary>
internal sealed record ProbedStream(
    string Type,
    string CodecName,
    string CodecTag,
    int Width,
    int Height,
    (int Width, int Height) SampleAspectRatio,
    double AverageFrameRate,
    double RealFrameRate,
    double Duration,
    bool AttachedPicture,
    int Rotation)
{
    public static ProbedStream Parse(JsonElement stream)
    {
        var attached = stream.TryGetProperty("disposition", out var disposition) && ProbedMedia.Number(disposition, "attached_pic") != 0;
        return new ProbedStream(
            ProbedMedia.Text(stream, "codec_type"),
            ProbedMedia.Text(stream, "codec_name"),
            ProbedMedia.Text(stream, "codec_tag_string"),
            (int)Math.Clamp(ProbedMedia.Number(stream, "width"), 0, int.MaxValue),
            (int)Math.Clamp(ProbedMedia.Number(stream, "height"), 0, int.MaxValue),
            ProbedMedia.Ratio(ProbedMedia.Text(stream, "sample_aspect_ratio")),
            Rate(ProbedMedia.Text(stream, "avg_frame_rate")),
            Rate(ProbedMedia.Text(stream, "r_frame_rate")),
            ProbedMedia.Number(stream, "duration"),
            attached,
            RotationOf(stream));
    }

    private static double Rate(string text)
    {
        var (n, d) = ProbedMedia.Ratio(text);
        return d > 0 ? (double)n / d : 0;
    }

    /// <summary>The display rotation: the display matrix side data, else the legacy <c>rotate</c> tag.</summary>
    private static int RotationOf(JsonElement stream)
    {
        if (stream.TryGetProperty("side_data_list", out var sideData) && sideData.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in sideData.EnumerateArray())
            {
                if (item.TryGetProperty("rotation", out _))
                {
                    return (int)ProbedMedia.Number(item, "rotation");
                }
            }
        }

        return stream.TryGetProperty("tags", out var tags) ? (int)ProbedMedia.Number(tags, "rotate") : 0;
    }
}
