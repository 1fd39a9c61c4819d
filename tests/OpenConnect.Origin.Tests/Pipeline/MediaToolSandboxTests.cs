using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>
/// The sandbox around every ffmpeg/ffprobe run: real tools made to exceed each limit (a generated
/// endless input) are stopped by the kernel or the deadline and reported as such.
/// </summary>
public sealed class MediaToolSandboxTests
{
    private const long GiB = 1024L * 1024 * 1024;

    // An input that never ends, encoded at a cost that keeps both cores busy.
    private const string Endless = "-hide_banner -nostdin -f lavfi -i testsrc2=size=1280x720:rate=30 -c:v libx264 -preset medium";

    private static MediaToolSandbox NewSandbox() => new(new MediaSandboxOptions(), NullLogger<MediaToolSandbox>.Instance);

    [Fact]
    public async Task Run_OverItsCpuLimit_IsStopped_AndReportedAsCpuLimit()
    {
        using var scratch = new TempDirectory();
        var limits = new MediaToolLimits(TimeSpan.FromSeconds(60), CpuSeconds: 2, MemoryBytes: 16 * GiB, OutputFileBytes: GiB);
        var clock = Stopwatch.StartNew();

        var result = await NewSandbox().RunAsync("ffmpeg", $"{Endless} -f null -", limits, scratch.Path, null, 1024, CancellationToken.None);

        Assert.Equal(MediaToolOutcome.CpuLimit, result.Outcome);
        Assert.Equal("ffmpeg used up its CPU time limit (2 s)", result.Summary);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(55), $"stopped by the wall clock, not the CPU limit ({clock.Elapsed})");
    }

    [Fact]
    public async Task Run_WritingPastItsFileSizeLimit_IsStopped_AndReportedAsOutputLimit()
    {
        using var scratch = new TempDirectory();
        var output = scratch.Combine("out.mkv");
        var limits = new MediaToolLimits(TimeSpan.FromSeconds(60), CpuSeconds: 60, MemoryBytes: 16 * GiB, OutputFileBytes: 1024 * 1024);

        var result = await NewSandbox().RunAsync("ffmpeg", $"-hide_banner -nostdin -f lavfi -i testsrc2=size=640x360:rate=30 -c:v libx264 -preset ultrafast -crf 10 {Ffmpeg.Quote(output)}", limits, scratch.Path, null, 1024, CancellationToken.None);

        Assert.Equal(MediaToolOutcome.OutputLimit, result.Outcome);
        Assert.Equal("ffmpeg wrote a file larger than its limit (1 MiB)", result.Summary);
        Assert.True(new FileInfo(output).Length <= 1024 * 1024, "the file grew past the limit");
    }

    [Fact]
    public async Task Run_PastItsDeadline_IsKilled_AndReportedAsTimedOut()
    {
        using var scratch = new TempDirectory();
        var limits = new MediaToolLimits(TimeSpan.FromSeconds(1), CpuSeconds: 600, MemoryBytes: 16 * GiB, OutputFileBytes: GiB);
        var clock = Stopwatch.StartNew();

        // -re paces the endless input at its frame rate: it uses little CPU and never ends by itself.
        var result = await NewSandbox().RunAsync("ffmpeg", "-hide_banner -nostdin -re -f lavfi -i testsrc2=size=160x90:rate=5 -f null -", limits, scratch.Path, null, 1024, CancellationToken.None);

        Assert.Equal(MediaToolOutcome.TimedOut, result.Outcome);
        Assert.Equal("ffmpeg did not finish within its time limit (00:00:01)", result.Summary);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Run_OverItsAddressSpaceLimit_FailsToAllocate_AndIsReportedAsMemoryLimit()
    {
        using var scratch = new TempDirectory();
        var limits = new MediaToolLimits(TimeSpan.FromSeconds(60), CpuSeconds: 60, MemoryBytes: 400L * 1024 * 1024, OutputFileBytes: GiB);
        var bomb = await HostileMedia.HugeFramesAsync();

        var result = await NewSandbox().RunAsync("ffmpeg", $"-hide_banner -nostdin -i {Ffmpeg.Quote(bomb)} -f null -", limits, scratch.Path, null, 1024, CancellationToken.None);

        Assert.Equal(MediaToolOutcome.MemoryLimit, result.Outcome);
        Assert.Equal("ffmpeg ran out of memory (limit 400 MiB)", result.Summary);

        // The same run with room enough decodes the file.
        var roomy = await NewSandbox().RunAsync("ffmpeg", $"-hide_banner -nostdin -i {Ffmpeg.Quote(bomb)} -f null -", limits with { MemoryBytes = 16 * GiB }, scratch.Path, null, 1024, CancellationToken.None);
        Assert.Equal(MediaToolOutcome.Completed, roomy.Outcome);
    }

    [Fact]
    public async Task Run_PrintingMoreThanIsRead_IsReportedAsTooMuchOutput()
    {
        using var scratch = new TempDirectory();
        var limits = new MediaToolLimits(TimeSpan.FromSeconds(60), CpuSeconds: 60, MemoryBytes: 16 * GiB, OutputFileBytes: GiB);
        const string frames = "-hide_banner -v error -f lavfi -i testsrc2=size=160x90:rate=30:duration=2 -show_frames -of json";

        var result = await NewSandbox().RunAsync("ffprobe", frames, limits, scratch.Path, null, 4096, CancellationToken.None);
        Assert.Equal(MediaToolOutcome.TooMuchOutput, result.Outcome);
        Assert.Equal("ffprobe printed more than the pipeline reads", result.Summary);
        Assert.True(result.StandardOutput.Length <= 4096, "more than the cap was kept");

        var roomy = await NewSandbox().RunAsync("ffprobe", frames, limits, scratch.Path, null, 4 * 1024 * 1024, CancellationToken.None);
        Assert.Equal(MediaToolOutcome.Completed, roomy.Outcome);
        Assert.Contains("\"frames\"", roomy.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_IsCancelled_KillsTheTool()
    {
        using var scratch = new TempDirectory();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var limits = new MediaToolLimits(TimeSpan.FromSeconds(60), CpuSeconds: 600, MemoryBytes: 16 * GiB, OutputFileBytes: GiB);
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            NewSandbox().RunAsync("ffmpeg", "-hide_banner -nostdin -re -f lavfi -i testsrc2=size=160x90:rate=5 -f null -", limits, scratch.Path, null, 1024, cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Tools_RunInANetworkNamespace_WhereEvenAnAllowedUrlCannotReachTheHost()
    {
        // CI runs as root, where 'unshare --net' works; elsewhere unprivileged user namespaces may allow it.
        var sandbox = NewSandbox();
        Assert.NotNull(sandbox.NetworkIsolation);

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var accept = listener.AcceptTcpClientAsync();
            using var scratch = new TempDirectory();
            var limits = new MediaToolLimits(TimeSpan.FromSeconds(30), CpuSeconds: 30, MemoryBytes: 16 * GiB, OutputFileBytes: GiB);

            // The protocol whitelist deliberately opened to http: only the namespace stands in the way.
            var url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/x.mp4");
            var result = await sandbox.RunAsync("ffprobe", $"-hide_banner -v error -protocol_whitelist http,tcp {url}", limits, scratch.Path, null, 1024, CancellationToken.None);

            Assert.Equal(MediaToolOutcome.Failed, result.Outcome);
            Assert.Contains("Network is unreachable", result.ErrorTail, StringComparison.Ordinal);
            await Task.Delay(300);
            Assert.False(accept.IsCompleted, "the tool reached the host's loopback");
        }
        finally
        {
            listener.Stop();
        }
    }

    [Theory]
    [InlineData(0, "", 0, MediaToolOutcome.Completed)]
    [InlineData(1, "Invalid data found when processing input", 0, MediaToolOutcome.Failed)]
    [InlineData(153, "", 0, MediaToolOutcome.OutputLimit)]
    [InlineData(1, "av_interleaved_write_frame(): File too large", 0, MediaToolOutcome.OutputLimit)]
    [InlineData(152, "", 0, MediaToolOutcome.CpuLimit)]
    [InlineData(255, "Exiting normally, received signal 24.", 9, MediaToolOutcome.CpuLimit)]
    [InlineData(137, "", 9, MediaToolOutcome.CpuLimit)]
    [InlineData(137, "", 1, MediaToolOutcome.Crashed)]
    [InlineData(69, "[h264 @ 0x1] Could not allocate memory\nError while decoding stream #0:0: Cannot allocate memory", 1, MediaToolOutcome.MemoryLimit)]
    [InlineData(139, "", 1, MediaToolOutcome.Crashed)]
    public void Classify_TellsTheLimitThatStoppedARun(int exitCode, string errors, int cpuSeconds, MediaToolOutcome expected)
    {
        var limits = new MediaToolLimits(TimeSpan.FromMinutes(1), CpuSeconds: 10, MemoryBytes: GiB, OutputFileBytes: GiB);
        Assert.Equal(expected, MediaToolSandbox.Classify(exitCode, errors, TimeSpan.FromSeconds(cpuSeconds), limits));
    }

    [Theory]
    [InlineData("[hls @ 0x55d3611b2240] Format not on whitelist 'mov,matroska' | file:/x/source.mp4: Invalid argument", "hls")]
    [InlineData("[png_pipe @ 0x1] Format not on whitelist 'mov,matroska'", "png_pipe")]
    [InlineData("[x/../y @ 0x1] Format not on whitelist 'mov,matroska'", "unknown")]
    [InlineData("file:/x/source.mp4: Invalid data found when processing input", null)]
    public void RefusedFormat_NamesTheDemuxerFfprobeWasNotAllowedToUse(string errors, string? expected) =>
        Assert.Equal(expected, SourceProbe.RefusedFormat(errors));

    [Theory]
    [InlineData("frame=  120 fps= 60 q=28.0 size=     256kB time=00:00:04.00 bitrate= 524.3kbits/s speed=2x", 4.0)]
    [InlineData("size=N/A time=26:01:02.50 bitrate=N/A speed=1x", 93662.5)]
    [InlineData("frame=    1 fps=0.0 q=0.0 size=       0kB time=-00:00:00.03 bitrate=N/A", 0.0)]
    [InlineData("frame=    1 fps=0.0 q=0.0 size=       0kB time=N/A bitrate=N/A", null)]
    [InlineData("Stream mapping:", null)]
    public void ProgressTime_ReadsTheStatsLine(string line, double? seconds) =>
        Assert.Equal(seconds, Ffmpeg.ProgressTime(line)?.TotalSeconds);

    [Fact]
    public void Limits_GrowWithTheMediaARunCovers()
    {
        var options = new MediaSandboxOptions();
        var chunk = options.RunLimits(TimeSpan.FromHours(2), TimeSpan.FromSeconds(12));
        Assert.Equal(600 + (12 * 120), chunk.CpuSeconds);
        Assert.Equal((1024 + (12 * 20)) * 1024L * 1024, chunk.OutputFileBytes);
        Assert.Equal(16 * GiB, chunk.MemoryBytes);
        Assert.Equal(TimeSpan.FromHours(2), chunk.WallClock);

        var unknown = options.RunLimits(TimeSpan.FromHours(2), null);
        Assert.Equal(600, unknown.CpuSeconds);
        Assert.Equal(GiB, unknown.OutputFileBytes);

        Assert.Equal(new MediaToolLimits(TimeSpan.FromSeconds(60), 60, 16 * GiB, GiB), options.ProbeLimits);
    }

    [Fact]
    public void Options_OutOfRange_AreReportedWithTheirKeys()
    {
        var check = new OpenConnect.Hosting.OptionsCheck("Origin");
        new MediaSandboxOptions { MemoryLimitMegabytes = 10, ProbeTimeout = TimeSpan.Zero, MaxSourceDimension = 100, CpuSecondsPerMediaSecond = -1 }.Validate(check);

        Assert.Equal(4, check.Errors.Count);
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Pipeline:Sandbox:MemoryLimitMegabytes = '10' is invalid", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Pipeline:Sandbox:ProbeTimeout", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Pipeline:Sandbox:MaxSourceDimension", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Pipeline:Sandbox:CpuSecondsPerMediaSecond", StringComparison.Ordinal));

        var defaults = new OpenConnect.Hosting.OptionsCheck("Origin");
        new MediaSandboxOptions().Validate(defaults);
        Assert.Empty(defaults.Errors);
    }
}
