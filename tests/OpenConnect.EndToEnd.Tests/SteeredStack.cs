using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// The playback path wired as run.sh wires it: an origin with a published ffmpeg package (title
/// <see cref="Title"/>), steering (its key created up front, loopback clients in site <c>local</c>),
/// and appliances as real processes (so stopping one is a kill: connections refused at once) that
/// register with steering and pull from the origin. Players need steering's tokens everywhere.
/// </summary>
public sealed class SteeredStack : IAsyncDisposable
{
    public const string Title = "t1";

    private SteeredStack(TempDirectory state, RunningRole origin, RunningRole steering, List<ApplianceChild> appliances)
    {
        State = state;
        Origin = origin;
        Steering = steering;
        Appliances = appliances;
    }

    public TempDirectory State { get; }

    public RunningRole Origin { get; }

    public RunningRole Steering { get; }

    public IReadOnlyList<ApplianceChild> Appliances { get; }

    public Uri SteeringUrl => Steering.BaseAddress;

    /// <summary>The origin's v2 playback key, written where steering writes it (the origin starts first).</summary>
    public static string OriginMacKeySetting(TempDirectory state, Ed25519SigningKey key) =>
        $"--Origin:PlaybackMacKeyFile={PlaybackMacKey.WriteOriginKeyFile(key, state.Combine("steering", "keys", "origin-playback-mac.key"))}";

    public static async Task<SteeredStack> StartAsync(int appliances, double titleSeconds, params string[] applianceSettings)
    {
        var state = new TempDirectory("openconnect-steered");
        var key = Ed25519SigningKey.LoadOrCreate(state.Combine("steering", "keys", "steering-signing.key"));
        var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={state.Combine("origin")}", $"--Origin:PlaybackKeys:0={key.PublicKey}", OriginMacKeySetting(state, key));
        var staging = state.Combine("staging");
        await PackagedTitle.CopyToAsync(staging, titleSeconds);
        // Signed by the origin's own key, as its pipeline does: the appliances trust only that key.
        await origin.Services.GetRequiredService<ITitlePublisher>().WriteIntegrityManifestAsync(Title, staging, CancellationToken.None);
        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync(Title, staging, CancellationToken.None);
        var stack = await StartSteeringAndAppliancesAsync(state, key, origin, steeringPort: 0, appliances, applianceSettings);
        await stack.WaitForPathwaysAsync(appliances + 1);
        return stack;
    }

    /// <summary>
    /// The stack as a person meets it: the origin with the real pipeline (a small fast ladder: 360p
    /// top rung, 2 s segments) serving the built web app from <c>web/dist</c>, steering and two
    /// appliances. Nothing is published up front: titles arrive through the upload page.
    /// </summary>
    public static async Task<SteeredStack> StartWebAsync()
    {
        var webDirectory = Path.Combine(RepositoryRoot, "web", "dist");
        if (!File.Exists(Path.Combine(webDirectory, "index.html")))
        {
            throw new InvalidOperationException($"the web app is not built ({webDirectory}/index.html is missing): run cd web && npm ci && npm run build (./test.sh does)");
        }

        var state = new TempDirectory("openconnect-web");
        var key = Ed25519SigningKey.LoadOrCreate(state.Combine("steering", "keys", "steering-signing.key"));
        var steeringPort = ApplianceChild.FreePort();

        // The catalog's admin, as run.sh provisions it: only an admin makes uploaders (invite codes).
        var adminPasswordFile = state.Combine("admin.password");
        await File.WriteAllTextAsync(adminPasswordFile, AdminPassword + "\n");
        var origin = await RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={state.Combine("origin")}",
            $"--Origin:PlaybackKeys:0={key.PublicKey}",
            OriginMacKeySetting(state, key),
            $"--Origin:Web:Directory={webDirectory}",
            $"--Origin:Web:SteeringUrl=http://127.0.0.1:{steeringPort}",
            "--Origin:Pipeline:MaxHeight=360",
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Catalog:PasswordIterations=10000",
            $"--Origin:Catalog:AdminPasswordFile={adminPasswordFile}",
            "--Logging:LogLevel:Default=Warning");
        return await StartSteeringAndAppliancesAsync(state, key, origin, steeringPort, appliances: 2, []);
    }

    /// <summary>The password of the catalog's built-in <c>admin</c> in the web stack.</summary>
    public const string AdminPassword = "web stack admin password";

    public static string RepositoryRoot => Path.GetFullPath(Path.Combine(PlayerScript.NodeDirectory(), "..", ".."));

    internal static async Task<SteeredStack> StartSteeringAndAppliancesAsync(TempDirectory state, Ed25519SigningKey key, RunningRole origin, int steeringPort, int appliances, string[] applianceSettings)
    {
        Directory.CreateDirectory(state.Combine("steering", "prefixes"));
        await File.WriteAllTextAsync(state.Combine("steering", "prefixes", "local.prefixes"), "127.0.0.0/8\n::1/128\n");
        // The fleet CA steering loads, and each appliance's certificate issued by it up front (enrolled).
        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        var steering = await RunningRole.StartAsync(
            SteeringHost.Build,
            "--urls", $"http://127.0.0.1:{steeringPort}",
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={origin.BaseAddress.ToString().TrimEnd('/')}");
        var control = steering.Services.GetRequiredService<ControlEndpoint>().Address;
        var originKey = await OriginIntegrityKeyAsync(origin);

        var children = new List<ApplianceChild>();
        var stack = new SteeredStack(state, origin, steering, children);
        try
        {
            for (var i = 1; i <= appliances; i++)
            {
                fleet.WriteAppliance(state.Combine($"oca-{i}-fleet"), "local", $"oca-{i}").Dispose();
                children.Add(await ApplianceChild.StartAsync(
                    $"oca-{i}",
                    [
                        "--Appliance:Site=local",
                        $"--Appliance:Cache:Directory={state.Combine($"oca-{i}")}",
                        "--Appliance:Cache:RamBytes=67108864",
                        "--Appliance:Cache:SsdBytes=268435456",
                        $"--Appliance:Parents:0={origin.BaseAddress}",
                        $"--Appliance:Steering:Url={control}",
                        $"--Appliance:PlaybackKeys:0={key.PublicKey}",
                        $"--Appliance:Upstream:IntegrityKeys:0={originKey}",
                        .. fleet.ApplianceSettings(state.Combine($"oca-{i}-fleet")),
                        .. applianceSettings,
                    ]));
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The origin's integrity public key as run.sh reads it: the file the origin writes at start,
    /// <c>{Origin:DataDirectory}/keys/origin-signing.pub</c>.
    /// </summary>
    private static async Task<string> OriginIntegrityKeyAsync(RunningRole origin)
    {
        var keyFile = Path.ChangeExtension(origin.Services.GetRequiredService<IOptions<OriginOptions>>().Value.SigningKeyPath, ".pub");
        if (!File.Exists(keyFile))
        {
            throw new InvalidOperationException($"the origin did not write its integrity public key to {keyFile} at start");
        }

        return (await File.ReadAllTextAsync(keyFile)).Trim();
    }

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
        foreach (var appliance in Appliances)
        {
            await appliance.DisposeAsync();
        }

        await Steering.DisposeAsync();
        await Origin.DisposeAsync();
        State.Dispose();
    }
}

/// <summary>
/// An appliance in its own process on a free loopback port, started by the fleet launcher's process
/// code (<see cref="RoleProcess"/>): it has a watchdog, so it never outlives the test run.
/// </summary>
public sealed class ApplianceChild : IAsyncDisposable
{
    private readonly RoleProcess _process;

    private ApplianceChild(string id, RoleProcess process)
    {
        Id = id;
        _process = process;
    }

    public string Id { get; }

    public Uri BaseAddress => _process.BaseAddress;

    /// <summary>The management listener (<c>/healthz</c>, <c>/metrics</c>).</summary>
    public Uri ManagementAddress => _process.ManagementAddress;

    public string HostAndPort => $"{BaseAddress.Host}:{BaseAddress.Port}";

    public bool Running => _process.Running;

    public static async Task<ApplianceChild> StartAsync(string id, string[] settings) =>
        new(id, await RoleProcess.StartAsync(
            "appliance " + id,
            typeof(ApplianceHost).Assembly.Location,
            null,
            () => [$"--Appliance:ControlUrl=https://127.0.0.1:{FreePort()}", $"--Appliance:Id={id}", "--Logging:LogLevel:Default=Warning", .. settings]));

    /// <summary>Content requests served (all tiers), from the appliance's own metrics.</summary>
    public async Task<double> ContentRequestsAsync()
    {
        var metrics = await _process.MetricsAsync();
        return (metrics.Value("openconnect_appliance_requests_total", ("tier", "ram")) ?? 0)
            + (metrics.Value("openconnect_appliance_requests_total", ("tier", "ssd")) ?? 0)
            + (metrics.Value("openconnect_appliance_requests_total", ("tier", "miss")) ?? 0);
    }

    /// <summary>Stops the appliance the hard way: its sockets close, its heartbeats stop.</summary>
    public void Kill() => _process.Kill();

    public static int FreePort() => RoleProcess.FreePort();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
