using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>
/// Uploads built to attack the media tools, through the real intake and probe: files that make a
/// demuxer open URLs, decompression bombs and streams without end. Each is refused with a reason
/// that names the problem and carries no path or tool output, and never hangs the intake.
/// </summary>
public sealed class HostileSourceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task PlaylistAndConcatList_NamedMp4_AreRefused_AndNothingConnectsOut()
    {
        await using var trap = ConnectionTrap.Start();
        await using var pipeline = await PipelineHarness.StartAsync(null);
        using var scratch = new TempDirectory();

        var playlist = scratch.Combine("playlist.mp4");
        await File.WriteAllTextAsync(playlist, string.Create(CultureInfo.InvariantCulture, $"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nhttp://127.0.0.1:{trap.Port}/x.ts\n#EXT-X-ENDLIST\n"));
        var concat = scratch.Combine("concat.mp4");
        await File.WriteAllTextAsync(concat, string.Create(CultureInfo.InvariantCulture, $"ffconcat version 1.0\nfile 'http://127.0.0.1:{trap.Port}/a.mp4'\nfile 'http://127.0.0.1:{trap.Port}/b.mp4'\n"));

        foreach (var (file, demuxer) in new[] { (playlist, "hls"), (concat, "concat") })
        {
            var submission = await pipeline.SubmitCopyAsync(file).WaitAsync(Deadline);

            Assert.False(submission.Accepted, $"{Path.GetFileName(file)} was accepted");
            Assert.Equal("rejected", submission.State);
            Assert.Equal($"container '{demuxer}' is not accepted: upload MP4, MOV or MKV", submission.Reason);
            var title = await pipeline.TitleAsync(submission.TitleId);
            Assert.Equal(submission.Reason, title.GetProperty("reason").GetString());
        }

        // The encode and thumbnail runs open a source with the demuxer the probe found: the same
        // files handed to them as MP4 are refused as well.
        var ffmpeg = pipeline.Origin.Services.GetRequiredService<Ffmpeg>();
        foreach (var file in new[] { playlist, concat })
        {
            var failure = await Assert.ThrowsAsync<FfmpegFailedException>(() =>
                ffmpeg.RunAsync(file, MediaInputFormat.Mov, "", "-", "-f null", scratch.Path, TimeSpan.FromSeconds(10), null, CancellationToken.None).WaitAsync(Deadline));
            Assert.Equal("ffmpeg failed (exit code 1)", failure.Message);
        }

        // Every tool run is over; give a connection attempt that might still be in flight time to land.
        await Task.Delay(500);
        Assert.Equal(0, trap.Connections);
    }

    [Fact]
    public async Task DecompressionBomb_OfHugeFrames_IsRefusedBeforeItIsDecoded()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null);
        var bomb = await HostileMedia.HugeFramesAsync();
        Assert.True(new FileInfo(bomb).Length < 1024 * 1024, "the bomb should be small on disk");

        var submission = await pipeline.SubmitCopyAsync(bomb).WaitAsync(Deadline);

        Assert.Equal("rejected", submission.State);
        Assert.Equal("the video frame (8704x8704) is larger than the limit of 8192 pixels per side", submission.Reason);
    }

    [Fact]
    public async Task DecompressionBomb_AllowedByTheSizeLimit_IsStoppedByTheMemoryLimit()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null, "--Origin:Pipeline:Sandbox:MaxSourceDimension=16384", "--Origin:Pipeline:Sandbox:MemoryLimitMegabytes=600");
        var bomb = await HostileMedia.HugeFramesAsync();

        var submission = await pipeline.SubmitCopyAsync(bomb).WaitAsync(Deadline);

        Assert.Equal("rejected", submission.State);
        Assert.Contains("ran out of memory (limit 600 MiB)", submission.Reason, StringComparison.Ordinal);
        AssertNoInternals(submission.Reason!, pipeline);
    }

    [Fact]
    public async Task OverLongAndEndlessStreams_AreRefused()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null);

        // Three tiny frames 100 hours apart: 12 KB that claim 200 hours.
        var overLong = await pipeline.SubmitCopyAsync(await HostileMedia.OverLongAsync()).WaitAsync(Deadline);
        Assert.Equal("rejected", overLong.State);
        Assert.Equal("the video is longer (8.08:00:01) than the limit of 12:00:00", overLong.Reason);

        // A live Matroska stream: unknown-size segment and no duration, as if it never ends.
        var endless = await pipeline.SubmitCopyAsync(await HostileMedia.LiveStreamAsync()).WaitAsync(Deadline);
        Assert.Equal("rejected", endless.State);
        Assert.Equal("the video has no duration", endless.Reason);

        // A shorter limit applies to what would otherwise pass.
        await using var strict = await PipelineHarness.StartAsync(null, "--Origin:Pipeline:Sandbox:MaxSourceDuration=00:00:01");
        var clip = await strict.SubmitCopyAsync(await PipelineMedia.ClipAsync(320, 180, 2)).WaitAsync(Deadline);
        Assert.Equal("rejected", clip.State);
        Assert.Equal("the video is longer (00:00:02) than the limit of 00:00:01", clip.Reason);
    }

    [Fact]
    public async Task UnreadableFile_ReasonNamesNoPathAndNoToolOutput()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null);
        using var scratch = new TempDirectory();
        var good = await PipelineMedia.ClipAsync(320, 180, 2);
        var truncated = scratch.Combine("truncated.mp4");
        var bytes = await File.ReadAllBytesAsync(good);
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);

        var submission = await pipeline.SubmitCopyAsync(truncated).WaitAsync(Deadline);

        Assert.Equal("rejected", submission.State);
        Assert.Equal("not a readable video file: ffprobe could not parse it as MP4, MOV or MKV", submission.Reason);
    }

    private static void AssertNoInternals(string reason, PipelineHarness pipeline)
    {
        Assert.DoesNotContain(pipeline.DataDirectory, reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), reason, StringComparison.Ordinal);
        Assert.DoesNotContain("file:", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(" @ 0x", reason, StringComparison.Ordinal);
    }

    /// <summary>A listener on 127.0.0.1 that counts every connection made to it.</summary>
    private sealed class ConnectionTrap : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;
        private int _connections;

        private ConnectionTrap()
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Connections => Volatile.Read(ref _connections) + (_listener.Pending() ? 1 : 0);

        public static ConnectionTrap Start() => new();

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _accepting;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
            }
        }
    }
}

/// <summary>Hostile sources made with ffmpeg, cached like <see cref="PipelineMedia"/>.</summary>
public static class HostileMedia
{
    /// <summary>One 8704×8704 grey H.264 frame: about 200 KB that decode to 110 MB per frame.</summary>
    public static Task<string> HugeFramesAsync() =>
        GenerateAsync("bomb-8704.mp4", ["-f", "lavfi", "-i", "color=c=gray:size=8704x8704:rate=1:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);

    /// <summary>Three 160×90 frames 100 hours apart in Matroska: a 200-hour title in a few kilobytes.</summary>
    public static Task<string> OverLongAsync() =>
        GenerateAsync("overlong-200h.mkv", ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=1:duration=3", "-vf", "setpts=N*360000/TB", "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);

    /// <summary>Matroska written as a live stream: no duration, segment and clusters of unknown size.</summary>
    public static Task<string> LiveStreamAsync() =>
        GenerateAsync("live.mkv", ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-live", "1", "-f", "matroska"]);

    private static async Task<string> GenerateAsync(string name, string[] arguments)
    {
        var directory = Path.Combine(SampleMedia.CacheDirectory, "hostile");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        if (File.Exists(path))
        {
            return path;
        }

        var partial = Path.Combine(directory, $".{Guid.NewGuid():N}{Path.GetExtension(name)}");
        var result = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", .. arguments, partial], TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            File.Delete(partial);
            throw new InvalidOperationException($"ffmpeg could not generate {name}: {result.StandardError}");
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }
}
