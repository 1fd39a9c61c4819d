using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Resource limits of one tool run.</summary>
/// <param name="WallClock">Time until the process is killed.</param>
/// <param name="CpuSeconds">RLIMIT_CPU: SIGXCPU at this many CPU seconds (ffmpeg then stops), SIGKILL a little later.</param>
/// <param name="MemoryBytes">RLIMIT_AS: address space of the process.</param>
/// <param name="OutputFileBytes">RLIMIT_FSIZE: largest file the process may write.</param>
public sealed record MediaToolLimits(TimeSpan WallClock, int CpuSeconds, long MemoryBytes, long OutputFileBytes);

/// <summary>How a tool run ended.</summary>
public enum MediaToolOutcome
{
    Completed,
    Failed,
    TimedOut,
    CpuLimit,
    MemoryLimit,
    OutputLimit,
    Crashed,

    /// <summary>The tool printed more than the caller would read (e.g. ffprobe describing thousands of streams).</summary>
    TooMuchOutput,
}

/// <summary>
/// The end of a tool run. <see cref="Summary"/> is safe to show to users (no paths, no tool output);
/// <see cref="ErrorTail"/> is for the server log.
/// </summary>
public sealed record MediaToolResult(string Tool, MediaToolOutcome Outcome, int ExitCode, string StandardOutput, string ErrorTail, MediaToolLimits Limits)
{
    public bool Succeeded => Outcome == MediaToolOutcome.Completed;

    public string Summary => Outcome switch
    {
        MediaToolOutcome.Completed => $"{Tool} completed",
        MediaToolOutcome.TimedOut => string.Create(CultureInfo.InvariantCulture, $"{Tool} did not finish within its time limit ({Limits.WallClock})"),
        MediaToolOutcome.CpuLimit => string.Create(CultureInfo.InvariantCulture, $"{Tool} used up its CPU time limit ({Limits.CpuSeconds} s)"),
        MediaToolOutcome.MemoryLimit => string.Create(CultureInfo.InvariantCulture, $"{Tool} ran out of memory (limit {Limits.MemoryBytes / (1024 * 1024)} MiB)"),
        MediaToolOutcome.OutputLimit => string.Create(CultureInfo.InvariantCulture, $"{Tool} wrote a file larger than its limit ({Limits.OutputFileBytes / (1024 * 1024)} MiB)"),
        MediaToolOutcome.Crashed => string.Create(CultureInfo.InvariantCulture, $"{Tool} crashed (signal {ExitCode - 128})"),
        MediaToolOutcome.TooMuchOutput => $"{Tool} printed more than the pipeline reads",
        _ => string.Create(CultureInfo.InvariantCulture, $"{Tool} failed (exit code {ExitCode})"),
    };

    /// <summary>Whether the run was stopped by one of its limits rather than failing on its own.</summary>
    public bool HitLimit => Outcome is MediaToolOutcome.TimedOut or MediaToolOutcome.CpuLimit or MediaToolOutcome.MemoryLimit or MediaToolOutcome.OutputLimit or MediaToolOutcome.TooMuchOutput;

    /// <summary>
    /// Whether running the same input again would hit the same wall: the CPU-time, address-space and
    /// file-size limits do not depend on how busy the host is (a wall-clock timeout and a crash may).
    /// </summary>
    public bool HitLimitForGood => Outcome is MediaToolOutcome.CpuLimit or MediaToolOutcome.MemoryLimit or MediaToolOutcome.OutputLimit or MediaToolOutcome.TooMuchOutput;
}

/// <summary>
/// The one place ffmpeg and ffprobe are started. Every run is wrapped as
/// <c>prlimit --cpu --as --fsize -- unshare --net -- tool …</c> (each wrapper execs the next, so the
/// started process is the tool itself): CPU time, address space and written file size are capped by
/// the kernel, the tool gets a network namespace with no interfaces when the kernel allows one, and
/// a wall-clock deadline kills it. The input options (protocol and format whitelists) are added by
/// callers from <see cref="MediaInputFormat"/>. Whether <c>unshare</c> works is found out once, at
/// start: without it a warning is logged (or start is refused when
/// <see cref="MediaSandboxOptions.RequireNetworkIsolation"/> says so).
/// </summary>
public sealed partial class MediaToolSandbox
{
    private const int MaxErrorChars = 64 * 1024;
    private const int SigKill = 9;
    private const int SigXcpu = 24;
    private const int SigXfsz = 25;

    private readonly ILogger<MediaToolSandbox> _logger;
    private readonly Lazy<string[]> _wrapper;

    public MediaToolSandbox(MediaSandboxOptions options, ILogger<MediaToolSandbox> logger)
    {
        Options = options;
        _logger = logger;
        _wrapper = new Lazy<string[]>(Detect, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public MediaSandboxOptions Options { get; }

    /// <summary>The <c>unshare</c> options in use (e.g. <c>--net</c>), or null when the tools share the host's network.</summary>
    public string? NetworkIsolation
    {
        get
        {
            var wrapper = _wrapper.Value;
            var at = Array.IndexOf(wrapper, "unshare");
            return at < 0 ? null : string.Join(' ', wrapper[(at + 1)..Array.IndexOf(wrapper, "--", at)]);
        }
    }

    /// <summary>Finds out (once) how the tools can be wrapped; throws when a required isolation is missing.</summary>
    public void EnsureReady() => _ = _wrapper.Value;

    /// <summary>
    /// Runs <paramref name="tool"/> (<c>ffmpeg</c> or <c>ffprobe</c>) with <paramref name="arguments"/>
    /// (one string, quoted as <see cref="Ffmpeg.Quote"/> does) under <paramref name="limits"/>.
    /// Standard error lines (split at CR and LF, so progress lines arrive as they are written) go to
    /// <paramref name="onErrorLine"/>; at most <paramref name="maxStandardOutput"/> characters of
    /// standard output are kept (more fails the run). Cancellation kills the tool and throws.
    /// </summary>
    public async Task<MediaToolResult> RunAsync(
        string tool,
        string arguments,
        MediaToolLimits limits,
        string workingDirectory,
        Action<string>? onErrorLine,
        int maxStandardOutput,
        CancellationToken cancellationToken)
    {
        var wrapper = _wrapper.Value;
        var startInfo = new ProcessStartInfo
        {
            FileName = wrapper.Length > 0 ? wrapper[0] : tool,
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        var command = new StringBuilder();
        if (wrapper.Length > 0)
        {
            command.Append(CultureInfo.InvariantCulture, $"--cpu={limits.CpuSeconds}:{HardCpuSeconds(limits.CpuSeconds)} --as={limits.MemoryBytes} --fsize={limits.OutputFileBytes} -- ");
            foreach (var part in wrapper.AsSpan(1))
            {
                command.Append(part).Append(' ');
            }

            command.Append(tool).Append(' ');
        }

        command.Append(arguments);
        startInfo.Arguments = command.ToString();

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close();
        var errors = new StringBuilder();
        var errorReader = PumpErrorsAsync(process.StandardError, errors, onErrorLine);
        var outputReader = ReadCappedAsync(process.StandardOutput, maxStandardOutput);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limits.WallClock);
        var cpuSeen = TimeSpan.Zero;
        var killedByUs = false;
        try
        {
            // Sample the CPU time while the tool runs: once it has exited it can no longer be read,
            // and it tells a SIGKILL from the CPU hard limit apart from any other.
            var exited = process.WaitForExitAsync(deadline.Token);
            while (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(1), deadline.Token)) != exited)
            {
                deadline.Token.ThrowIfCancellationRequested();
                cpuSeen = CpuTime(process, cpuSeen);
            }

            await exited;
        }
        catch (OperationCanceledException)
        {
            killedByUs = true;
            Kill(process);
        }

        await process.WaitForExitAsync(CancellationToken.None);
        await errorReader;
        var (output, outputOverflow) = await outputReader;
        cancellationToken.ThrowIfCancellationRequested();

        var errorText = errors.ToString();
        var outcome = killedByUs ? MediaToolOutcome.TimedOut : Classify(process.ExitCode, errorText, cpuSeen, limits);
        if (outcome == MediaToolOutcome.Completed && outputOverflow)
        {
            outcome = MediaToolOutcome.TooMuchOutput;
        }

        var result = new MediaToolResult(tool, outcome, killedByUs ? -1 : process.ExitCode, output, Ffmpeg.Tail(errorText), limits);
        if (!result.Succeeded)
        {
            Log.RunFailed(_logger, tool, outcome, result.ExitCode, workingDirectory, arguments, result.ErrorTail);
        }

        return result;
    }

    /// <summary>The outcome of a run that ended by itself, from its exit status and what it said.</summary>
    public static MediaToolOutcome Classify(int exitCode, string errors, TimeSpan cpuSeen, MediaToolLimits limits)
    {
        if (exitCode == 0)
        {
            return MediaToolOutcome.Completed;
        }

        if (exitCode == 128 + SigXfsz || errors.Contains("File too large", StringComparison.Ordinal))
        {
            return MediaToolOutcome.OutputLimit;
        }

        // ffmpeg turns SIGXCPU into a request to stop ("received signal 24"); one that does not stop
        // in time gets SIGKILL from the hard limit, so a SIGKILL near the limit is the CPU limit too.
        if (exitCode == 128 + SigXcpu
            || errors.Contains("received signal 24", StringComparison.Ordinal)
            || (exitCode == 128 + SigKill && cpuSeen.TotalSeconds >= limits.CpuSeconds * 0.8))
        {
            return MediaToolOutcome.CpuLimit;
        }

        if (errors.Contains("Cannot allocate memory", StringComparison.Ordinal)
            || errors.Contains("Could not allocate memory", StringComparison.Ordinal)
            || errors.Contains("malloc of size", StringComparison.Ordinal)
            || errors.Contains("std::bad_alloc", StringComparison.Ordinal)
            || errors.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
        {
            return MediaToolOutcome.MemoryLimit;
        }

        return exitCode > 128 ? MediaToolOutcome.Crashed : MediaToolOutcome.Failed;
    }

    private static int HardCpuSeconds(int soft) => soft + Math.Max(5, soft / 10);

    private static TimeSpan CpuTime(Process process, TimeSpan last)
    {
        try
        {
            return process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            return last; // exited meanwhile
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }
    }

    private static async Task PumpErrorsAsync(StreamReader reader, StringBuilder errors, Action<string>? onLine)
    {
        var buffer = new char[4096];
        var line = new StringBuilder();
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (c is '\r' or '\n')
                {
                    Emit();
                }
                else if (line.Length < 8192)
                {
                    line.Append(c);
                }
            }
        }

        Emit();

        void Emit()
        {
            if (line.Length == 0)
            {
                return;
            }

            var text = line.ToString();
            line.Clear();
            if (errors.Length < MaxErrorChars && !text.StartsWith("frame=", StringComparison.Ordinal) && !text.StartsWith("size=", StringComparison.Ordinal))
            {
                errors.AppendLine(text);
            }

            onLine?.Invoke(text);
        }
    }

    private static async Task<(string Text, bool Overflow)> ReadCappedAsync(StreamReader reader, int max)
    {
        var buffer = new char[16 * 1024];
        var text = new StringBuilder();
        var overflow = false;
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            if (text.Length + read > max)
            {
                overflow = true;
                continue; // keep draining so the tool is not blocked on a full pipe
            }

            text.Append(buffer, 0, read);
        }

        return (text.ToString(), overflow);
    }

    /// <summary>
    /// The wrapper argv before the tool: <c>prlimit</c> (required on Linux), then <c>unshare</c> with
    /// the first of <c>--net</c> or <c>--map-root-user --net</c> that can actually start ffprobe.
    /// </summary>
    private string[] Detect()
    {
        if (!OperatingSystem.IsLinux())
        {
            Log.NoSandbox(_logger, RuntimeInformationDescription());
            return Options.RequireNetworkIsolation
                ? throw new InvalidOperationException("Origin:Pipeline:Sandbox:RequireNetworkIsolation is set but network namespaces exist only on Linux")
                : [];
        }

        if (!Works("prlimit", ["--cpu=10", "--", "ffprobe", "-hide_banner", "-version"]))
        {
            throw new InvalidOperationException("the media tools cannot be started with resource limits: 'prlimit --cpu=10 -- ffprobe -version' failed (install util-linux and ffmpeg)");
        }

        foreach (var flags in new[] { new[] { "--net" }, ["--map-root-user", "--net"] })
        {
            if (Works("unshare", [.. flags, "--", "ffprobe", "-hide_banner", "-version"]))
            {
                Log.Isolated(_logger, string.Join(' ', flags));
                return ["prlimit", "unshare", .. flags, "--"];
            }
        }

        if (Options.RequireNetworkIsolation)
        {
            throw new InvalidOperationException("Origin:Pipeline:Sandbox:RequireNetworkIsolation is set but the media tools cannot be run in a network namespace of their own ('unshare --net' and 'unshare --map-root-user --net' both failed: run as root or allow unprivileged user namespaces)");
        }

        Log.NotIsolated(_logger);
        return ["prlimit"];
    }

    private static string RuntimeInformationDescription() => System.Runtime.InteropServices.RuntimeInformation.OSDescription;

    private static bool Works(string fileName, string[] arguments)
    {
        var startInfo = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(startInfo)!;
            var drainOut = process.StandardOutput.ReadToEndAsync();
            var drainErr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                Kill(process);
                return false;
            }

            Task.WaitAll(drainOut, drainErr);
            return process.ExitCode == 0;
        }
        catch (Win32Exception)
        {
            return false; // not installed
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Media tools run under resource limits in a network namespace of their own (unshare {Flags})")]
        public static partial void Isolated(ILogger logger, string flags);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Media tools cannot be run in a network namespace of their own (unshare --net failed; run as root or allow unprivileged user namespaces): they share the host's network, kept off it by their protocol whitelist (file) only")]
        public static partial void NotIsolated(ILogger logger);

        [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Media tools run without resource limits or network isolation on {Os} (both need Linux)")]
        public static partial void NoSandbox(ILogger logger, string os);

        [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "{Tool} ended {Outcome} (exit {ExitCode}) in {WorkingDirectory}: {Arguments} | {Errors}")]
        public static partial void RunFailed(ILogger logger, string tool, MediaToolOutcome outcome, int exitCode, string workingDirectory, string arguments, string errors);
    }
}
