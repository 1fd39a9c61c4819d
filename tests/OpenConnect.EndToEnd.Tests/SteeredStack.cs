using System.Text.Json;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Launcher;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;
using OpenConnect.Origin.Publishing;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// The playback path as run.sh starts it: origin, steering and appliances as Release processes on
/// loopback, started and enrolled by the fleet launcher (<see cref="LaunchedFleet"/>: fleet CA,
/// operator and origin certificates, appliances enrolled with one-time codes, pulling from the
/// origin's parent listener over fleet TLS). Steering's playback key is made here before it starts
/// (so tests can sign tokens); loopback clients are in site <c>local</c>. Stopping an appliance is a
/// kill: connections refused at once. Players need steering's tokens everywhere.
/// </summary>
public sealed class SteeredStack : IAsyncDisposable
{
    public const string Title = "t1";

    /// <summary>The password of the catalog's built-in <c>admin</c> (written to the launcher's admin password file before start).</summary>
    public const string AdminPassword = "web stack admin password";

    private static readonly string[] RoleProjects = ["steering/OpenConnect.Steering", "origin/OpenConnect.Origin", "appliance/OpenConnect.Appliance"];

    private const string FillControllerProject = "fill-controller/OpenConnect.FillController";

    private readonly LaunchedFleet _fleet;

    private SteeredStack(TempDirectory state, LaunchedFleet fleet, Ed25519SigningKey playbackKey)
    {
        State = state;
        _fleet = fleet;
        PlaybackKey = playbackKey;
        Origin = new StackRole(fleet.Origin);
        Steering = new StackRole(fleet.Steering);
        Appliances = [.. fleet.Layout.Appliances.Select(id => new StackAppliance(id, fleet.Appliances[id]))];
    }

    public TempDirectory State { get; }

    public StackRole Origin { get; }

    public StackRole Steering { get; }

    public IReadOnlyList<StackAppliance> Appliances { get; }

    public Uri SteeringUrl => Steering.BaseAddress;

    /// <summary>Steering's playback signing key (players' and licence tokens).</summary>
    public Ed25519SigningKey PlaybackKey { get; }

    /// <summary>The origin's published directory (<c>{Origin:DataDirectory}/published</c>).</summary>
    public string PublishedDirectory => PublishedDirectoryOf(_fleet.Layout.StateDirectory);

    public static string RepositoryRoot => Path.GetFullPath(Path.Combine(PlayerScript.NodeDirectory(), "..", ".."));

    /// <summary>
    /// The stack with an ffmpeg package of <paramref name="titleSeconds"/> published as
    /// <see cref="Title"/> before the origin starts (with its integrity manifest signed by the
    /// origin's key, made here first: the appliances trust only that key); returns once steering
    /// offers every appliance and the origin.
    /// </summary>
    public static Task<SteeredStack> StartAsync(int appliances, double titleSeconds, params string[] applianceSettings) =>
        StartAsync(appliances, titleSeconds, everyRoleSettings: [], applianceSettings);

    /// <summary>As <see cref="StartAsync(int, double, string[])"/>, with <paramref name="everyRoleSettings"/> given to origin, steering and appliances alike (e.g. <c>Tracing</c>).</summary>
    public static async Task<SteeredStack> StartAsync(int appliances, double titleSeconds, string[] everyRoleSettings, string[] applianceSettings)
    {
        var stack = await LaunchAsync("openconnect-steered", appliances, _ => everyRoleSettings, [.. everyRoleSettings, .. applianceSettings], everyRoleSettings, async state =>
        {
            var originKey = Ed25519SigningKey.LoadOrCreate(Path.Combine(state, FleetLayout.Origin, "keys", "origin-signing.key"));
            var published = Path.Combine(PublishedDirectoryOf(state), Title);
            await PackagedTitle.CopyToAsync(published, titleSeconds);
            var manifest = await TitlePublisher.BuildManifestAsync(Title, published, originKey, CancellationToken.None);
            await File.WriteAllBytesAsync(Path.Combine(published, IntegrityManifest.FileName), manifest.ToJsonBytes());
        });
        try
        {
            await stack.WaitForPathwaysAsync(appliances + 1);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The stack as a person meets it: the origin with the real pipeline (a small fast ladder: 360p
    /// top rung, 2 s segments) serving the built web app from <c>web/dist</c>, steering and two
    /// appliances; with <paramref name="fillController"/>, the fill controller too. The origin reads
    /// the fleet for the operator page from steering's enrollment listener (and the fill controller's
    /// control listener). Nothing is published up front: titles arrive through the upload page.
    /// </summary>
    public static async Task<SteeredStack> StartWebAsync(bool fillController = false)
    {
        var webDirectory = Path.Combine(RepositoryRoot, "web", "dist");
        if (!File.Exists(Path.Combine(webDirectory, "index.html")))
        {
            throw new InvalidOperationException($"the web app is not built ({webDirectory}/index.html is missing): run cd web && npm ci && npm run build (./test.sh does)");
        }

        return await LaunchAsync(
            "openconnect-web",
            appliances: 2,
            originSettings: layout =>
            [
                $"--Origin:Web:Directory={webDirectory}",
                $"--Origin:Web:SteeringUrl={layout.Url(FleetLayout.Steering)}",
                "--Origin:Pipeline:MaxHeight=360",
                "--Origin:Pipeline:SegmentSeconds=2",
                "--Origin:Catalog:PasswordIterations=10000",
            ],
            applianceSettings: [],
            steeringSettings: [],
            prepare: _ => Task.CompletedTask,
            fillController);
    }

    /// <summary>
    /// The stack with an empty origin running the real pipeline with <paramref name="originSettings"/>
    /// and <paramref name="appliances"/> appliances; titles are published through the origin's upload
    /// endpoint (<see cref="PipelineTitles"/>).
    /// </summary>
    public static Task<SteeredStack> StartPipelineAsync(string name, int appliances, params string[] originSettings) =>
        LaunchAsync(name, appliances, _ => originSettings, [], [], _ => Task.CompletedTask);

    /// <summary>As <see cref="StartPipelineAsync(string, int, string[])"/>, with origin settings that depend on the fleet's layout (its ports).</summary>
    public static Task<SteeredStack> StartPipelineAsync(string name, int appliances, Func<FleetLayout, string[]> originSettings) =>
        LaunchAsync(name, appliances, originSettings, [], [], _ => Task.CompletedTask);

    /// <summary>
    /// Starts the fleet in a new state directory prepared by <paramref name="prepare"/>. Ports are
    /// picked free, but parallel test classes race for them: a start that lost one ("address already
    /// in use") is retried from scratch on new ports (three attempts).
    /// </summary>
    private static async Task<SteeredStack> LaunchAsync(string name, int appliances, Func<FleetLayout, string[]> originSettings, string[] applianceSettings, string[] steeringSettings, Func<string, Task> prepare, bool fillController = false)
    {
        var root = RepositoryRoot;
        foreach (var project in fillController ? [.. RoleProjects, FillControllerProject] : RoleProjects)
        {
            var dll = RoleStart.ReleaseDll(root, project);
            if (!File.Exists(dll))
            {
                throw new InvalidOperationException($"{dll} is missing: the end-to-end stack runs the roles' Release build; build first: dotnet build OpenConnect.sln -c Release (./test.sh does)");
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            var state = new TempDirectory(name);
            try
            {
                // Made before steering starts, which loads it: tests sign players' tokens with it.
                var playbackKey = Ed25519SigningKey.LoadOrCreate(Path.Combine(state.Path, FleetLayout.Steering, "keys", "steering-signing.key"));
                // The catalog's admin, as run.sh provisions it (the launcher keeps an existing password).
                await File.WriteAllTextAsync(Path.Combine(state.Path, "admin.password"), AdminPassword + "\n");
                await prepare(state.Path);

                var ports = LoopbackPorts.Pick(3 + appliances);
                var layout = FleetLayout.Loopback(state.Path, ports[0], ports[1], fillPort: fillController ? ports[^1] : null, [.. Enumerable.Range(1, appliances).Select(i => ($"oca-{i}", ports[1 + i]))]);
                var fleet = await LaunchedFleet.StartAsync(layout, new FleetLaunchOptions
                {
                    RepositoryRoot = root,
                    OperatorIdentity = "openconnect://operator/e2e",
                    ExtraSettings = role => role switch
                    {
                        FleetLayout.Origin => ["--Logging:LogLevel:Default=Warning", .. originSettings(layout)],
                        FleetLayout.Steering => ["--Logging:LogLevel:Default=Warning", .. steeringSettings],
                        _ => ["--Logging:LogLevel:Default=Warning", "--Appliance:Cache:RamBytes=67108864", "--Appliance:Cache:SsdBytes=268435456", .. applianceSettings],
                    },
                });
                return new SteeredStack(state, fleet, playbackKey);
            }
            catch (LaunchException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                state.Dispose();
            }
            catch
            {
                state.Dispose();
                throw;
            }
        }
    }

    private static string PublishedDirectoryOf(string state) => Path.Combine(state, FleetLayout.Origin, "published");

    /// <summary>Waits until <c>/play</c> offers <paramref name="count"/> pathways (appliances registered and heartbeating, plus the origin).</summary>
    public async Task WaitForPathwaysAsync(int count)
    {
        using var client = Steering.CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            // 503 is steering's "origin unavailable, try again" (its catalog lookup timed out): retry
            // until the deadline like a player would; any other failure ends the wait at once.
            using var response = await client.GetAsync($"/play/{Title}");
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
            {
                response.EnsureSuccessStatusCode();
                using var play = JsonDocument.Parse(body);
                if (play.RootElement.GetProperty("hls").GetProperty("pathways").GetArrayLength() >= count)
                {
                    return;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"steering never offered {count} pathways: {(int)response.StatusCode} {body}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _fleet.DisposeAsync();
        State.Dispose();
    }
}

/// <summary>Origin or steering of a <see cref="SteeredStack"/>: what its process exposes.</summary>
public sealed class StackRole(LaunchedRole role)
{
    public Uri BaseAddress { get; } = new(role.BaseUrl);

    /// <summary>The management listener (<c>/healthz</c>, <c>/metrics</c>).</summary>
    public Uri ManagementAddress { get; } = new(role.ManagementUrl);

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public HttpClient CreateManagementClient() => new() { BaseAddress = ManagementAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The last lines of the role's log, for failure messages.</summary>
    public string Tail(int lines = 20) => role.Tail(lines);
}

/// <summary>An appliance of a <see cref="SteeredStack"/>, a launcher process with a watchdog (it never outlives the test run).</summary>
public sealed class StackAppliance(string id, LaunchedRole role)
{
    public string Id { get; } = id;

    public Uri BaseAddress { get; } = new(role.BaseUrl);

    /// <summary>The management listener (<c>/healthz</c>, <c>/metrics</c>).</summary>
    public Uri ManagementAddress { get; } = new(role.ManagementUrl);

    public string HostAndPort => $"{BaseAddress.Host}:{BaseAddress.Port}";

    public bool Running => role.Running;

    /// <summary>Content requests served (all tiers), from the appliance's own metrics.</summary>
    public async Task<double> ContentRequestsAsync()
    {
        using var client = new HttpClient { BaseAddress = ManagementAddress, Timeout = TimeSpan.FromSeconds(30) };
        var metrics = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
        return (metrics.Value("openconnect_appliance_requests_total", ("tier", "ram")) ?? 0)
            + (metrics.Value("openconnect_appliance_requests_total", ("tier", "ssd")) ?? 0)
            + (metrics.Value("openconnect_appliance_requests_total", ("tier", "miss")) ?? 0);
    }

    /// <summary>Stops the appliance the hard way: its sockets close, its heartbeats stop.</summary>
    public void Kill() => role.Kill(TimeSpan.FromSeconds(10));
}
