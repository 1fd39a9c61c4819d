using FFMpegCore;

namespace OpenConnect.Origin.Pipeline;

/// <summary>The verdict on a source file: its facts when usable, otherwise why not.</summary>
public sealed record ProbeResult(SourceInfo? Source, string? Rejection, string Extension);

/// <summary>
/// Decides whether a file is a source the pipeline can process: ffprobe must read it as MP4, MOV or
/// Matroska with a video stream, and ffmpeg must actually decode its first frames (a stream whose
/// codec is unknown or whose payload is corrupt is caught here, not half-way through the ladder).
/// </summary>
public sealed class SourceProbe(TimeSpan decodeTimeout)
{
    public async Task<ProbeResult> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        IMediaAnalysis analysis;
        try
        {
            analysis = await FFProbe.AnalyseAsync(path, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Reject($"not a readable video file: ffprobe could not parse it ({Ffmpeg.Tail(ex.Message)})");
        }

        var format = analysis.Format.FormatName ?? "";
        string extension;
        if (format.Contains("matroska", StringComparison.Ordinal))
        {
            extension = "mkv";
        }
        else if (format.Contains("mp4", StringComparison.Ordinal) || format.Contains("mov", StringComparison.Ordinal))
        {
            var brand = analysis.Format.Tags is { } tags && tags.TryGetValue("major_brand", out var b) ? b.Trim() : "";
            extension = brand == "qt" ? "mov" : "mp4";
        }
        else
        {
            return Reject($"container '{format}' is not accepted: upload MP4, MOV or MKV");
        }

        var video = analysis.VideoStreams.FirstOrDefault(v => !IsAttachedPicture(v));
        if (video is null)
        {
            return Reject(analysis.AudioStreams.Count > 0
                ? "the file has audio but no video stream: audio-only uploads are not accepted"
                : "the file has no video stream");
        }

        if (string.IsNullOrEmpty(video.CodecName) || video.CodecName == "none" || video.Width is not > 0 || video.Height is not > 0)
        {
            return Reject($"the video stream's codec ('{video.CodecName}', tag '{video.CodecTag}') is unknown to ffmpeg and cannot be decoded");
        }

        var duration = analysis.Duration > TimeSpan.Zero ? analysis.Duration : video.Duration;
        if (duration <= TimeSpan.Zero)
        {
            return Reject("the video has no duration");
        }

        var decodeError = await TryDecodeAsync(path, cancellationToken);
        if (decodeError is not null)
        {
            return Reject($"the {video.CodecName} video stream cannot be decoded: {decodeError}");
        }

        var (width, height) = DisplaySize(video);
        var fps = video.AverageFrameRate > 0 && !double.IsNaN(video.AverageFrameRate) ? video.AverageFrameRate : video.RealFrameRate;
        if (fps <= 0 || double.IsNaN(fps) || fps > 240)
        {
            fps = 30;
        }

        var audio = analysis.PrimaryAudioStream?.CodecName;
        return new ProbeResult(new SourceInfo(extension, duration.TotalSeconds, width, height, video.CodecName, Math.Round(fps, 3), audio), null, extension);

        ProbeResult Reject(string reason) => new(null, reason, "");
    }

    private static bool IsAttachedPicture(VideoStream stream) =>
        stream.Disposition is { } disposition && disposition.TryGetValue("attached_pic", out var attached) && attached;

    /// <summary>The frame size as shown: sample aspect ratio applied, rotated by 90° when the stream says so.</summary>
    private static (int Width, int Height) DisplaySize(VideoStream video)
    {
        var width = video.Width ?? 0;
        var height = video.Height ?? 0;
        var (sarW, sarH) = video.SampleAspectRatio;
        if (sarW > 0 && sarH > 0 && sarW != sarH)
        {
            width = (int)Math.Round((double)width * sarW / sarH);
        }

        return Math.Abs(video.Rotation) % 180 == 90 ? (height, width) : (width, height);
    }

    private async Task<string?> TryDecodeAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await new Ffmpeg(decodeTimeout).RunAsync(path, "-xerror", "-", "-map 0:v:0 -frames:v 5 -f null", Path.GetTempPath(), null, null, cancellationToken);
            return null;
        }
        catch (FfmpegFailedException ex)
        {
            return ex.Message;
        }
    }
}
