using System.Globalization;
using System.Text.Json;
using OpenConnect.Contracts.Security;
using OpenConnect.Launcher;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Origin, steering and one or more appliances (one site, no fill controller) as Release processes
/// pinned to core 0, started and enrolled by the fleet launcher as run.sh's are: steering's key
/// (created here first) verifies players' tokens on the appliances and the origin; loopback clients
/// belong to the appliances' site; appliances pull from their parents over fleet TLS.
/// </summary>
internal sealed class SteeredStack : IAsyncDisposable
{
    private readonly LaunchedFleet _fleet;
    private readonly Ed25519SigningKey _key;
    private readonly IReadOnlyList<string> _titles;

    private SteeredStack(LaunchedFleet fleet, Ed25519SigningKey key, IReadOnlyList<string> titles)
    {
        _fleet = fleet;
        _key = key;
        _titles = titles;
        Roles = [.. fleet.Roles.Select(r => (r.Name, new RoleCpu(r)))];
    }

    public string SteeringUrl => _fleet.Layout.Url(FleetLayout.Steering);

    public string ApplianceUrl => ApplianceUrls[0];

    /// <summary>Every appliance's data URL (all in site <c>local</c>), in start order.</summary>
    public IReadOnlyList<string> ApplianceUrls => [.. _fleet.Layout.Appliances.Select(_fleet.Layout.Url)];

    /// <summary>The role processes by name (steering, origin, oca-bench-N), for CPU accounting.</summary>
    public IReadOnlyList<(string Name, RoleCpu Process)> Roles { get; }

    public static Task<SteeredStack> StartAsync(string root, string taskset, string work, string package, string title, CancellationToken cancellationToken) =>
        StartAsync(root, taskset, work, package, [title], 1, cancellationToken);

    /// <summary>
    /// Publishes <paramref name="package"/> under each of <paramref name="titles"/> and starts the
    /// origin, steering and <paramref name="appliances"/> appliances in one site. Returns once
    /// steering ranks an appliance first for every title. <c>applianceSettings</c>, when given, adds
    /// command-line settings to the origin and each appliance by role name (e.g. an appliance's access log).
    /// </summary>
    public static async Task<SteeredStack> StartAsync(string root, string taskset, string work, string package, IReadOnlyList<string> titles, int appliances, CancellationToken cancellationToken, Func<string, IEnumerable<string>>? applianceSettings = null)
    {
        foreach (var project in (string[])["origin/OpenConnect.Origin", "steering/OpenConnect.Steering", "appliance/OpenConnect.Appliance"])
        {
            var dll = RoleStart.ReleaseDll(root, project);
            if (!File.Exists(dll))
            {
                throw new BenchUsageException($"{dll} is missing; build first: dotnet build OpenConnect.sln -c Release");
            }
        }

        var key = Ed25519SigningKey.LoadOrCreate(Path.Combine(work, "steering", "keys", "steering-signing.key"));
        // The origin's signing key, made here so each copy of the package gets its own title's signed
        // integrity manifest; the origin loads it at start and writes the public half next to it.
        var originKey = Ed25519SigningKey.LoadOrCreate(Path.Combine(work, "origin", "keys", "origin-signing.key"));
        foreach (var title in titles)
        {
            var published = Path.Combine(work, "origin", "published", title);
            CopyDirectory(package, published);
            var manifest = await Origin.Publishing.TitlePublisher.BuildManifestAsync(title, published, originKey, cancellationToken).ConfigureAwait(false);
            await File.WriteAllBytesAsync(Path.Combine(published, Contracts.Content.IntegrityManifest.FileName), manifest.ToJsonBytes(), cancellationToken).ConfigureAwait(false);
        }

        var ports = LoopbackPorts.Pick(2 + appliances);
        var layout = FleetLayout.Loopback(work, ports[0], ports[1], fillPort: null, [.. Enumerable.Range(0, appliances).Select(i => (i == 0 ? "oca-bench" : $"oca-bench-{i}", ports[2 + i]))]);
        var fleet = await LaunchedFleet.StartAsync(layout, new FleetLaunchOptions
        {
            RepositoryRoot = root,
            OperatorIdentity = "openconnect://operator/bench",
            Prefix = [taskset, "-c", "0"],
            ExtraSettings = role => role == FleetLayout.Steering
                // Every player of the swarm starts from 127.0.0.1.
                ? ["--Logging:LogLevel:Default=Warning", "--Steering:PlayRateLimitPerSecond=1000000", "--Steering:PlayRateLimitBurst=1000000"]
                : ["--Logging:LogLevel:Default=Warning", .. applianceSettings?.Invoke(role) ?? []],
        }, cancellationToken).ConfigureAwait(false);
        var stack = new SteeredStack(fleet, key, titles);
        try
        {
            await stack.WaitForAppliancesAsync(cancellationToken).ConfigureAwait(false);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Fetches every file of every title through every appliance (signed), twice, so plays are RAM hits.</summary>
    public async Task WarmAsync(string package, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var title in _titles)
        {
            var token = UrlToken.Sign(_key, DateTimeOffset.UtcNow.AddHours(1), UrlToken.TitlePrefix(title));
            foreach (var appliance in ApplianceUrls)
            {
                for (var pass = 0; pass < 2; pass++)
                {
                    foreach (var file in Directory.EnumerateFiles(package, "*", SearchOption.AllDirectories))
                    {
                        var relative = Path.GetRelativePath(package, file).Replace(Path.DirectorySeparatorChar, '/');
                        using var response = await client.GetAsync($"{appliance}{UrlToken.SignedPath(token, $"/v/{title}/{relative}")}", cancellationToken).ConfigureAwait(false);
                        response.EnsureSuccessStatusCode();
                    }
                }
            }
        }
    }

    /// <summary>Waits until steering lists every appliance plus the origin for each title, an appliance first.</summary>
    private async Task WaitForAppliancesAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var title in _titles)
        {
            while (true)
            {
                using var play = JsonDocument.Parse(await client.GetStringAsync($"{SteeringUrl}/play/{title}", cancellationToken).ConfigureAwait(false));
                var pathways = play.RootElement.GetProperty("hls").GetProperty("pathways");
                var first = pathways[0].GetProperty("url").GetString()!;
                if (pathways.GetArrayLength() >= Math.Min(ApplianceUrls.Count + 1, 3) && ApplianceUrls.Any(a => first.StartsWith(a, StringComparison.Ordinal)))
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"steering never ranked the appliances first for {title}: {play.RootElement}");
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
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

    public ValueTask DisposeAsync() => _fleet.DisposeAsync();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"steering {SteeringUrl}, appliances {string.Join(", ", ApplianceUrls)}");
}
