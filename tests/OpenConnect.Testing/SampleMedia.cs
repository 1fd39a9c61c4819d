using System.Collections.Concurrent;

namespace OpenConnect.Testing;

/// <summary>A short synthetic clip: ffmpeg's testsrc2 video (motion) and a sine tone.</summary>
public sealed record SampleSpec(string Name, int Width, int Height, double Seconds, string Container)
{
    public string FileName => $"{Name}.{Container}";
}

/// <summary>
/// Generates sample media with ffmpeg's lavfi sources once into a cache directory shared by every
/// test in a run (and by later runs: a file is only written under its final name when complete).
/// </summary>
public static class SampleMedia
{
    public static readonly SampleSpec Mp4Small = new("testsrc2-360p-4s", 640, 360, 4, "mp4");
    public static readonly SampleSpec MovSmall = new("testsrc2-240p-3s", 320, 240, 3, "mov");
    public static readonly SampleSpec MkvHd = new("testsrc2-720p-4s", 1280, 720, 4, "mkv");

    /// <summary>Small but long enough for several segments (protected playback).</summary>
    public static readonly SampleSpec Mp4Low12s = new("testsrc2-144p-12s", 256, 144, 12, "mp4");

    public static IReadOnlyList<SampleSpec> Standard { get; } = [Mp4Small, MovSmall, MkvHd];

    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Generated = new();

    /// <summary>The cache directory: <c>OPENCONNECT_TEST_MEDIA</c>, else a folder under the temp directory.</summary>
    public static string CacheDirectory =>
        Environment.GetEnvironmentVariable("OPENCONNECT_TEST_MEDIA") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetTempPath(), "openconnect-test-media");

    public static Task<string> GetAsync(SampleSpec spec) =>
        Generated.GetOrAdd(spec.FileName, _ => new Lazy<Task<string>>(() => GenerateAsync(spec))).Value;

    private static async Task<string> GenerateAsync(SampleSpec spec)
    {
        Directory.CreateDirectory(CacheDirectory);
        var path = Path.Combine(CacheDirectory, spec.FileName);
        if (File.Exists(path))
        {
            return path;
        }

        var partial = Path.Combine(CacheDirectory, $".{Guid.NewGuid():N}.{spec.Container}");
        var seconds = spec.Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] args =
        [
            "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size={spec.Width}x{spec.Height}:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60",
            "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-shortest",
            partial,
        ];
        var result = await ExternalProcess.RunAsync("ffmpeg", args, TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            File.Delete(partial);
            throw new InvalidOperationException($"ffmpeg failed to generate {spec.FileName} (exit {result.ExitCode}): {result.StandardError}");
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }
}

/// <summary>xunit fixture that makes sure the standard samples exist before a test class runs.</summary>
public sealed class SampleMediaFixture : Xunit.IAsyncLifetime
{
    private readonly Dictionary<SampleSpec, string> _paths = [];

    public string this[SampleSpec spec] => _paths[spec];

    public async Task InitializeAsync()
    {
        foreach (var spec in SampleMedia.Standard)
        {
            _paths[spec] = await SampleMedia.GetAsync(spec);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
