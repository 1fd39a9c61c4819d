using System.Text;
using FFMpegCore;
using FFMpegCore.Exceptions;

namespace OpenConnect.Origin.Pipeline;

/// <summary>A failed ffmpeg run: the command and the tail of its error output.</summary>
public sealed class FfmpegFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs ffmpeg through FFMpegCore with a deadline, cancellation and progress, and turns a failure
/// into an exception that carries the useful part of ffmpeg's error output.
/// </summary>
public sealed class Ffmpeg(TimeSpan timeout)
{
    /// <param name="input">Input file.</param>
    /// <param name="inputArguments">Options placed before <c>-i</c> (e.g. <c>-ss 12 -t 12</c>).</param>
    /// <param name="output">Output file, or <c>-</c> with <c>-f null</c> in <paramref name="outputArguments"/>.</param>
    /// <param name="outputArguments">Options placed before the output.</param>
    /// <param name="workingDirectory">Directory that relative names in filters resolve against.</param>
    /// <param name="expectedDuration">Length of the output, for percentage progress; null for none.</param>
    /// <param name="progress">Receives 0..1 as ffmpeg reports its position.</param>
    /// <param name="cancellationToken">Stops ffmpeg (it is asked to quit, then killed).</param>
    public async Task RunAsync(
        string input,
        string inputArguments,
        string output,
        string outputArguments,
        string workingDirectory,
        TimeSpan? expectedDuration,
        Action<double>? progress,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var errors = new StringBuilder();
        var processor = FFMpegArguments
            .FromFileInput(input, verifyExists: false, o => o.WithCustomArgument(inputArguments))
            .OutputToFile(output, overwrite: true, o => o.WithCustomArgument(outputArguments))
            .NotifyOnStandardError(line =>
            {
                lock (errors)
                {
                    if (errors.Length < 64 * 1024)
                    {
                        errors.AppendLine(line);
                    }
                }
            })
            .CancellableThrough(deadline.Token, TimeSpan.FromSeconds(5));
        if (progress is not null && expectedDuration is { } total && total > TimeSpan.Zero)
        {
            processor = processor.NotifyOnPercentageProgress(p => progress(Math.Clamp(p / 100.0, 0, 1)), total);
        }

        try
        {
            await processor.ProcessAsynchronously(throwOnError: true, new FFOptions { WorkingDirectory = workingDirectory, LogLevel = FFMpegCore.Enums.FFMpegLogLevel.Info }, deadline.Token);
        }
        catch (Exception ex) when (ex is FFMpegException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (deadline.IsCancellationRequested)
            {
                throw new FfmpegFailedException($"ffmpeg did not finish within {timeout}", ex);
            }

            throw new FfmpegFailedException($"ffmpeg failed: {Tail(errors.ToString())}", ex);
        }

        if (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new FfmpegFailedException($"ffmpeg did not finish within {timeout}");
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Runs one ffmpeg command that writes several outputs, each with its own options (e.g. one
    /// encoder per output fed from one filter graph). Options that belong before every output, such
    /// as <c>-filter_complex</c>, go at the start of the first output's arguments.
    /// </summary>
    public Task RunAsync(
        string input,
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
        return RunAsync(input, inputArguments, outputs[^1].Output, leading.ToString(), workingDirectory, expectedDuration, progress, cancellationToken);
    }

    /// <summary>Quotes a path or filter argument for FFMpegCore's single argument string.</summary>
    public static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>The last meaningful lines of ffmpeg's error output (progress lines dropped).</summary>
    public static string Tail(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("frame=", StringComparison.Ordinal) && !l.StartsWith("size=", StringComparison.Ordinal) && !l.StartsWith("Svt[", StringComparison.Ordinal))
            .TakeLast(4);
        var text = string.Join(" | ", lines);
        return text.Length > 600 ? text[^600..] : text;
    }
}
