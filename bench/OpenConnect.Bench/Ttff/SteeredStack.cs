using System.Globalization;
using System.Text.Json;
using OpenConnect.Bench.Throughput;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Origin, steering and one appliance as Release processes pinned to core 0, wired as run.sh wires
/// them: steering's key (created here first) verifies players' tokens on the appliance and the
/// origin; loopback clients belong to the appliance's site.
/// </summary>
internal sealed class SteeredStack : IAsyncDisposable
{
    private readonly List<ChildProcess> _processes;
    private readonly Ed25519SigningKey _key;
    private readonly string _title;

    private SteeredStack(List<ChildProcess> processes, Ed25519SigningKey key, string title, string steeringUrl, string applianceUrl)
    {
        _processes = processes;
        _key = key;
        _title = title;
        SteeringUrl = steeringUrl;
        ApplianceUrl = applianceUrl;
    }

    public string SteeringUrl { get; }

    public string ApplianceUrl { get; }

    public static async Task<SteeredStack> StartAsync(string root, string taskset, string work, string package, string title, CancellationToken cancellationToken)
    {
        var key = Ed25519SigningKey.LoadOrCreate(Path.Combine(work, "steering", "keys", "steering-signing.key"));
        var published = Path.Combine(work, "origin", "published", title);
        CopyDirectory(package, published);
        Directory.CreateDirectory(Path.Combine(work, "steering", "prefixes"));
        await File.WriteAllTextAsync(Path.Combine(work, "steering", "prefixes", "local.prefixes"), "127.0.0.0/8\n::1/128\n", cancellationToken).ConfigureAwait(false);

        var originPort = NginxServer.FreePort();
        var steeringPort = NginxServer.FreePort();
        var controlPort = NginxServer.FreePort();
        var appliancePort = NginxServer.FreePort();
        var applianceControlPort = NginxServer.FreePort();
        var originUrl = $"http://127.0.0.1:{originPort}";
        var steeringUrl = $"http://127.0.0.1:{steeringPort}";
        var applianceUrl = $"http://127.0.0.1:{appliancePort}";
        var processes = new List<ChildProcess>();
        var stack = new SteeredStack(processes, key, title, steeringUrl, applianceUrl);
        try
        {
            processes.Add(Start(taskset, Dll(root, "origin", "OpenConnect.Origin"), originUrl, $"--Origin:DataDirectory={Path.Combine(work, "origin")}", $"--Origin:PlaybackKeys:0={key.PublicKey}"));
            await HttpProbe.WaitUntilAsync(processes[^1], originUrl + "/healthz", "origin", cancellationToken).ConfigureAwait(false);
            processes.Add(Start(taskset, Dll(root, "steering", "OpenConnect.Steering"), steeringUrl, $"--Steering:DataDirectory={Path.Combine(work, "steering")}", $"--Steering:ControlUrl=http://127.0.0.1:{controlPort}", $"--Steering:OriginUrl={originUrl}"));
            await HttpProbe.WaitUntilAsync(processes[^1], steeringUrl + "/healthz", "steering", cancellationToken).ConfigureAwait(false);
            processes.Add(Start(
                taskset,
                Dll(root, "appliance", "OpenConnect.Appliance"),
                applianceUrl,
                "--Appliance:Id=oca-bench",
                "--Appliance:Site=local",
                $"--Appliance:ControlUrl=http://127.0.0.1:{applianceControlPort}",
                $"--Appliance:Cache:Directory={Path.Combine(work, "appliance")}",
                $"--Appliance:Parents:0={originUrl}",
                $"--Appliance:Steering:Url=http://127.0.0.1:{controlPort}",
                $"--Appliance:PlaybackKeys:0={key.PublicKey}"));
            await HttpProbe.WaitUntilAsync(processes[^1], applianceUrl + "/healthz", "appliance", cancellationToken).ConfigureAwait(false);
            await stack.WaitForApplianceAsync(cancellationToken).ConfigureAwait(false);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Fetches every file of the title through the appliance (signed), twice, so plays are RAM hits.</summary>
    public async Task WarmAsync(string package, CancellationToken cancellationToken)
    {
        var token = UrlToken.Sign(_key, DateTimeOffset.UtcNow.AddHours(1), UrlToken.TitlePrefix(_title));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var file in Directory.EnumerateFiles(package, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(package, file).Replace(Path.DirectorySeparatorChar, '/');
                using var response = await client.GetAsync($"{ApplianceUrl}{UrlToken.SignedPath(token, $"/v/{_title}/{relative}")}", cancellationToken).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
            }
        }
    }

    private async Task WaitForApplianceAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var play = JsonDocument.Parse(await client.GetStringAsync($"{SteeringUrl}/play/{_title}", cancellationToken).ConfigureAwait(false));
            var pathways = play.RootElement.GetProperty("hls").GetProperty("pathways");
            if (pathways.GetArrayLength() >= 2 && pathways[0].GetProperty("url").GetString()!.StartsWith(ApplianceUrl, StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"steering never ranked the appliance first: {play.RootElement}");
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ChildProcess Start(string taskset, string dll, string url, params string[] settings) =>
        ChildProcess.Start(taskset, ["-c", "0", "dotnet", dll, "--urls", url, "--Logging:LogLevel:Default=Warning", .. settings]);

    private static string Dll(string root, string folder, string project)
    {
        var path = Path.Combine(root, folder, project, "bin", "Release", "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new BenchUsageException($"{path} is missing; build first: dotnet build OpenConnect.sln -c Release");
    }

    private static void CopyDirectory(string source, string destination)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"steering {SteeringUrl}, appliance {ApplianceUrl}");
}
