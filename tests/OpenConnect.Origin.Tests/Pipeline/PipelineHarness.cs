using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>An in-process origin on a temporary data directory, with helpers to submit sources and follow titles through the API.</summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private PipelineHarness(TempDirectory directory, RunningRole origin)
    {
        _directory = directory;
        Origin = origin;
        Client = origin.CreateClient();
    }

    public RunningRole Origin { get; }

    public HttpClient Client { get; }

    public string DataDirectory => _directory.Path;

    public string Uploads => _directory.Combine("uploads");

    public IPipelineIntake Intake => Origin.Services.GetRequiredService<IPipelineIntake>();

    public static async Task<PipelineHarness> StartAsync(Action<IServiceCollection>? configureServices, params string[] settings)
    {
        var directory = new TempDirectory("openconnect-pipeline");
        Directory.CreateDirectory(directory.Combine("uploads"));
        // Sources are submitted without an uploader; with uploads open to anyone (no token) their titles are visible anonymously.
        string[] all = [$"--Origin:DataDirectory={directory.Path}", "--Origin:Pipeline:RetryDelay=00:00:00.2", "--Origin:Ingest:RequireToken=false", .. settings];
        try
        {
            var origin = await RunningRole.StartAsync(args => OriginHost.Build(args, configureServices), all);
            return new PipelineHarness(directory, origin);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>Copies <paramref name="file"/> to the uploads folder (the pipeline moves accepted files) and submits it.</summary>
    public async Task<TitleSubmission> SubmitCopyAsync(string file, string? title = null)
    {
        var upload = Path.Combine(Uploads, Guid.NewGuid().ToString("N"));
        File.Copy(file, upload);
        var metadata = new Dictionary<string, string> { ["filename"] = Path.GetFileName(file), ["title"] = title ?? Path.GetFileNameWithoutExtension(file), ["tags"] = "test, pipeline" };
        return await Intake.SubmitAsync(new SourceUpload(Path.GetFileName(upload), upload, metadata), CancellationToken.None);
    }

    public Task<JsonElement> TitleAsync(string id) => Client.GetFromJsonAsync<JsonElement>($"/api/titles/{id}");

    /// <summary>Polls the title until it is published, failed or rejected (or the deadline passes), calling <paramref name="observe"/> on every poll.</summary>
    public Task<JsonElement> WaitForEndAsync(string id, TimeSpan deadline, Action<JsonElement>? observe = null) => WaitForEndAsync(Client, id, deadline, observe);

    /// <summary>As <see cref="WaitForEndAsync(string, TimeSpan, Action{JsonElement})"/>, through any origin's titles API (one in another process).</summary>
    public static async Task<JsonElement> WaitForEndAsync(HttpClient client, string id, TimeSpan deadline, Action<JsonElement>? observe = null)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var title = await client.GetFromJsonAsync<JsonElement>($"/api/titles/{id}");
            observe?.Invoke(title);
            var state = title.GetProperty("state").GetString();
            if (state is "published" or "failed" or "rejected")
            {
                return title;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"title {id} still {state} at step {title.GetProperty("step")} after {deadline}: {title}");
            }

            await Task.Delay(100);
        }
    }

    public string Published(string titleId, params string[] parts) => Path.Combine([DataDirectory, "published", titleId, .. parts]);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Origin.DisposeAsync();
        _directory.Dispose();
    }
}

/// <summary>Test sources made with ffmpeg's lavfi generators, cached like <see cref="SampleMedia"/>.</summary>
public static class PipelineMedia
{
    /// <summary>testsrc2 video with a sine tone.</summary>
    public static Task<string> ClipAsync(int width, int height, double seconds, string container = "mp4", bool audio = true)
    {
        var name = Inv($"clip-{width}x{height}-{seconds}s{(audio ? "" : "-mute")}.{container}");
        string[] video = ["-f", "lavfi", "-i", Inv($"testsrc2=size={width}x{height}:rate=30:duration={seconds}")];
        string[] sound = audio ? ["-f", "lavfi", "-i", Inv($"sine=frequency=440:sample_rate=48000:duration={seconds}")] : [];
        string[] codecs = audio
            ? ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "45", "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-shortest"]
            : ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "45"];
        return GenerateAsync(name, [.. video, .. sound, .. codecs]);
    }

    /// <summary>Black for <paramref name="blackSeconds"/>, then testsrc2 (a bright, sharp pattern).</summary>
    public static Task<string> BlackLeadAsync(double blackSeconds, double totalSeconds) =>
        GenerateAsync(Inv($"blacklead-{blackSeconds}-{totalSeconds}.mp4"),
        [
            "-f", "lavfi", "-i", Inv($"color=c=black:size=320x180:rate=30:duration={blackSeconds}"),
            "-f", "lavfi", "-i", Inv($"testsrc2=size=320x180:rate=30:duration={totalSeconds - blackSeconds}"),
            "-f", "lavfi", "-i", Inv($"sine=frequency=330:sample_rate=48000:duration={totalSeconds}"),
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-map", "2:a",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
        ]);

    /// <summary>A sine tone in an M4A: an MP4 container with no video.</summary>
    public static Task<string> AudioOnlyAsync() =>
        GenerateAsync("audio-only.m4a", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-c:a", "aac", "-b:a", "96k"]);

    /// <summary>A PNG still image.</summary>
    public static Task<string> PngAsync() =>
        GenerateAsync("still.png", ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=1:duration=1", "-frames:v", "1"]);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static async Task<string> GenerateAsync(string name, string[] arguments)
    {
        var directory = Path.Combine(SampleMedia.CacheDirectory, "pipeline");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        if (File.Exists(path))
        {
            return path;
        }

        var partial = Path.Combine(directory, $".{Guid.NewGuid():N}{Path.GetExtension(name)}");
        var result = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", .. arguments, partial], TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0)
        {
            File.Delete(partial);
            throw new InvalidOperationException($"ffmpeg could not generate {name}: {result.StandardError}");
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }
}

/// <summary>ffprobe as the independent reader of what the pipeline wrote.</summary>
public static class Probe
{
    public static async Task<JsonElement> JsonAsync(params string[] arguments)
    {
        var result = await ExternalProcess.RunAsync("ffprobe", ["-v", "error", "-of", "json", .. arguments], TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"ffprobe {string.Join(' ', arguments)} failed: {result.StandardError}");
        return JsonDocument.Parse(result.StandardOutput).RootElement.Clone();
    }

    /// <summary>Presentation times of the video keyframes (sync samples) of a file or playlist.</summary>
    public static async Task<List<double>> KeyframeTimesAsync(string input)
    {
        var json = await JsonAsync("-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", input);
        return json.GetProperty("packets").EnumerateArray()
            .Where(p => p.GetProperty("flags").GetString()!.StartsWith('K'))
            .Select(p => double.Parse(p.GetProperty("pts_time").GetString()!, CultureInfo.InvariantCulture))
            .Order()
            .ToList();
    }
}
