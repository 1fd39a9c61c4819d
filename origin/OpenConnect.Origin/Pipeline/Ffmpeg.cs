using System.Globalization;
using System.Text;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// A failed ffmpeg run. The message says what happened in words fit for a title's reason (no paths,
/// no tool output); the details are in the server log and in <see cref="Result"/>.
/// </summary>
public sealed class FfmpegFailedException(string message, MediaToolResult? result = null) : Exception(message)
{
    public MediaToolResult? Result { get; } = result;
}

/// <summary>
/// Runs ffmpeg through the <see cref="MediaToolSandbox"/> with a deadline, resource limits sized to
/// the media the run covers, cancellation and progress. Every input is opened with an explicit
/// demuxer and only the <c>file</c> protocol (<see cref="MediaInputFormat"/>).
/// </summary>
public sealed class Ffmpeg(MediaToolSandbox sandbox, TimeSpan timeout)
{
    /// <param name="input">Input file.</param>
    /// <param name="format">How the input may be opened (its demuxer).</param>
    /// <param name="inputArguments">Options placed before <c>-i</c> (e.g. <c>-ss 12 -t 12</c>).</param>
    /// <param name="output">Output file, or <c>-</c> with <c>-f null</c> in <paramref name="outputArguments"/>.</param>
    /// <param name="outputArguments">Options placed before the output.</param>
    /// <param name="workingDirectory">Directory that relative names in filters resolve against.</param>
    /// <param name="expectedDuration">Length of the media the run covers: progress and the CPU and file-size limits; null for none.</param>
    /// <param name="progress">Receives 0..1 as ffmpeg reports its position.</param>
    /// <param name="cancellationToken">Stops ffmpeg (it is killed).</param>
    /// <param name="limits">The run's limits; by default those of a run over <paramref name="expectedDuration"/> of media.</param>
    public async Task RunAsync(
        string input,
        MediaInputFormat format,
        string inputArguments,
        string output,
        string outputArguments,
        string workingDirectory,
        TimeSpan? expectedDuration,
        Action<double>? progress,
        CancellationToken cancellationToken,
        MediaToolLimits? limits = null)
    {
        limits ??= sandbox.Options.RunLimits(timeout, expectedDuration);
        var arguments = $"-hide_banner -nostdin -y {format.Arguments} {inputArguments} -i {Quote(MediaInputFormat.InputUrl(input))} {outputArguments} {Quote(output)}";
        Action<string>? onLine = null;
        if (progress is not null && expectedDuration is { } total && total > TimeSpan.Zero)
        {
            onLine = line =>
            {
                if (ProgressTime(line) is { } at)
                {
                    progress(Math.Clamp(at / total, 0, 1));
                }
            };
        }

        var result = await sandbox.RunAsync("ffmpeg", arguments, limits, workingDirectory, onLine, 64 * 1024, cancellationToken);
        if (!result.Succeeded)
        {
            throw new FfmpegFailedException(result.Summary, result);
        }
    }

    /// <summary>
    /// Runs one ffmpeg command that writes several outputs, each with its own options (e.g. one
    /// encoder per output fed from one filter graph). Options that belong before every output, such
    /// as <c>-filter_complex</c>, go at the start of the first output's arguments.
    /// </summary>
    public Task RunAsync(
        string input,
        MediaInputFormat format,
        string inputArguments,
        IReadOnlyList<(string Output, string Arguments)> outputs,
        string workingDirectory,
        TimeSpan? expectedDuration,
        Action<double>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(outputs.Count);
        var leading = new StringBuilder();
        for (var i = 0; i < outputs.Count - 1; i++)
        {
            leading.Append(outputs[i].Arguments).Append(' ').Append(Quote(outputs[i].Output)).Append(' ');
        }

        leading.Append(outputs[^1].Arguments);
        return RunAsync(input, format, inputArguments, outputs[^1].Output, leading.ToString(), workingDirectory, expectedDuration, progress, cancellationToken);
    }

    /// <summary>Quotes a path or filter argument for the single argument string the tools are started with.</summary>
    public static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>The last meaningful lines of ffmpeg's error output (progress lines dropped), for logs.</summary>
    public static string Tail(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("frame=", StringComparison.Ordinal) && !l.StartsWith("size=", StringComparison.Ordinal) && !l.StartsWith("Svt[", StringComparison.Ordinal))
            .TakeLast(4);
        var text = string.Join(" | ", lines);
        return text.Length > 600 ? text[^600..] : text;
    }

    /// <summary>The <c>time=</c> position of an ffmpeg stats line (<c>frame=… time=00:01:02.50 …</c>), if it has one.</summary>
    public static TimeSpan? ProgressTime(string line)
    {
        var at = line.IndexOf(" time=", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var value = line.AsSpan(at + 6);
        var end = value.IndexOf(' ');
        if (end >= 0)
        {
            value = value[..end];
        }

        // Hours may pass 23; a negative position (before the first timestamp) counts as zero.
        var first = value.IndexOf(':');
        var second = first < 0 ? -1 : value[(first + 1)..].IndexOf(':');
        if (second < 0
            || !int.TryParse(value[..first], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(value.Slice(first + 1, second), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || !double.TryParse(value[(first + second + 2)..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return null;
        }

        return hours < 0 || value[0] == '-' ? TimeSpan.Zero : TimeSpan.FromHours(hours) + TimeSpan.FromMinutes(minutes) + TimeSpan.FromSeconds(seconds);
    }
}
