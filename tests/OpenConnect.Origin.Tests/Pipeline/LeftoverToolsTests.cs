using System.Diagnostics;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>An origin that starts stops the ffmpeg processes a killed predecessor left in its work directory, and only those.</summary>
public sealed class LeftoverToolsTests
{
    [Fact]
    public async Task OnStart_FfmpegWorkingInTheWorkDirectory_IsStopped_OthersAreNot()
    {
        using var dir = new TempDirectory("openconnect-leftovers");
        using var elsewhere = new TempDirectory("openconnect-elsewhere");
        var work = Directory.CreateDirectory(Path.Combine(dir.Path, "work", "crashed-title")).FullName;
        using var leftover = StartEndlessFfmpeg(work);
        using var bystander = StartEndlessFfmpeg(elsewhere.Path);
        try
        {
            await Task.Delay(300);
            Assert.False(leftover.HasExited, "the leftover ffmpeg should be running before the origin starts");

            // A separate process, as after a crash: the leftover is not the new origin's child.
            await using var origin = await OriginProcess.StartAsync([$"--Origin:DataDirectory={dir.Path}"]);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await leftover.WaitForExitAsync(timeout.Token);

            Assert.True(leftover.HasExited);
            Assert.False(bystander.HasExited, "an ffmpeg working elsewhere must be left alone");
        }
        finally
        {
            foreach (var process in new[] { leftover, bystander })
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
            }
        }
    }

    /// <summary>An ffmpeg that runs until stopped (a test pattern into the null muxer), started in <paramref name="workingDirectory"/>.</summary>
    private static Process StartEndlessFfmpeg(string workingDirectory)
    {
        var start = new ProcessStartInfo("ffmpeg")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-f", "null", "-"])
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start");
    }
}
