using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Security;
using OpenConnect.FillController;
using OpenConnect.FillController.Fill;
using OpenConnect.Origin;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// All four roles in-process on loopback ports, joined as in production: an origin with a published
/// title (<see cref="Title"/>), steering with a fleet CA (loopback clients in site <see cref="Site"/>),
/// a fill controller holding a certificate from that CA, and one enrolled appliance that registers
/// with steering, pulls misses from the origin and polls the fill controller. Each role's
/// management listener is what Prometheus scrapes.
/// </summary>
internal sealed class MonitoredStack : IAsyncDisposable
{
    public const string Title = "t1";
    public const string Site = "local";
    public const string ApplianceId = "oca-1";

    private readonly List<IAsyncDisposable> _roles = [];

    private MonitoredStack(TempDirectory state, FleetCertificates fleet)
    {
        State = state;
        Fleet = fleet;
    }

    public TempDirectory State { get; }

    public FleetCertificates Fleet { get; }

    public RunningRole Origin { get; private set; } = null!;

    public RunningRole Steering { get; private set; } = null!;

    public RunningRole FillController { get; private set; } = null!;

    public RunningRole Appliance { get; private set; } = null!;

    public static async Task<MonitoredStack> StartAsync()
    {
        var state = new TempDirectory("openconnect-monitoring");
        var stack = new MonitoredStack(state, FleetCertificates.Create(state.Combine("steering", "fleet")));
        try
        {
            await stack.StartRolesAsync();
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    private async Task StartRolesAsync()
    {
        var playbackKey = Ed25519SigningKey.LoadOrCreate(State.Combine("steering", "keys", "steering-signing.key"));
        Origin = Own(await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={State.Combine("origin")}", $"--Origin:PlaybackKeys:0={playbackKey.PublicKey}"));
        var staging = State.Combine("staging");
        await PackagedTitle.CopyToAsync(staging, 4);
        await Origin.Services.GetRequiredService<ITitlePublisher>().WriteIntegrityManifestAsync(Title, staging, CancellationToken.None);
        await Origin.Services.GetRequiredService<IObjectStore>().PublishAsync(Title, staging, CancellationToken.None);
        var originUrl = Origin.BaseAddress.ToString().TrimEnd('/');
        var integrityKeyFile = Path.ChangeExtension(Origin.Services.GetRequiredService<IOptions<OriginOptions>>().Value.SigningKeyPath, ".pub");
        var integrityKey = (await File.ReadAllTextAsync(integrityKeyFile)).Trim();

        Directory.CreateDirectory(State.Combine("steering", "prefixes"));
        await File.WriteAllTextAsync(State.Combine("steering", "prefixes", $"{Site}.prefixes"), "127.0.0.0/8\n::1/128\n");
        Steering = Own(await RunningRole.StartAsync(
            SteeringHost.Build,
            $"--Steering:DataDirectory={State.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={originUrl}"));
        var steeringControl = Steering.Services.GetRequiredService<ControlEndpoint>().Address;

        var (certificateFile, keyFile) = Fleet.WriteService(State.Combine("fill-controller-fleet"), "fill-controller", FleetIdentity.FillController.ToString());
        // The night a fill plans for is forecast from whole days before it, and steering counts this
        // test's plays on today's date: between midnight and the end of the window (02:00–06:00 UTC) the
        // next window is today's, which may not use today's plays. The controller's clock runs from
        // today's noon instead (a shifted real clock, so its timers still run), whose next window is
        // tomorrow's, so the test means the same at any hour.
        var noon = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero);
        FillClockShift = noon > DateTimeOffset.UtcNow ? noon - DateTimeOffset.UtcNow : TimeSpan.Zero;
        var clock = new ShiftedClock(FillClockShift);
        FillController = Own(await RunningRole.StartAsync(
            args => FillControllerHost.Build(args, services => services.AddSingleton<TimeProvider>(clock)),
            $"--FillController:DataDirectory={State.Combine("fill-controller")}",
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={Fleet.CaCertificateFile}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fill:SteeringControlUrl={steeringControl}",
            $"--FillController:Fill:OriginUrl={originUrl}",
            $"--FillController:Origin:Url={originUrl}",
            $"--FillController:Steering:Url={Steering.BaseAddress.ToString().TrimEnd('/')}"));
        var fillControl = FillController.Services.GetRequiredService<FillControlEndpoint>().Address;

        var applianceFleet = State.Combine($"{ApplianceId}-fleet");
        Fleet.WriteAppliance(applianceFleet, Site, ApplianceId).Dispose();
        Appliance = Own(await RunningRole.StartAsync(
            ApplianceHost.Build,
            [
            .. Fleet.ApplianceSettings(applianceFleet),
            $"--Appliance:Id={ApplianceId}",
            $"--Appliance:Site={Site}",
            $"--Appliance:Cache:Directory={State.Combine(ApplianceId)}",
            "--Appliance:Cache:RamBytes=16777216",
            "--Appliance:Cache:SsdBytes=134217728",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            $"--Appliance:Parents:0={originUrl}",
            $"--Appliance:Steering:Url={steeringControl}",
            $"--Appliance:PlaybackKeys:0={playbackKey.PublicKey}",
            $"--Appliance:Upstream:IntegrityKeys:0={integrityKey}",
            $"--Appliance:Fill:ControllerUrl={fillControl}",
            "--Appliance:Fill:PollInterval=00:00:00.5",
            ]));
    }

    /// <summary>How far the fill controller's clock runs ahead of the real one (see <see cref="StartRolesAsync"/>).</summary>
    public TimeSpan FillClockShift { get; private set; }

    private RunningRole Own(RunningRole role)
    {
        _roles.Add(role);
        return role;
    }

    /// <summary>The management listener of each Prometheus job, as <c>host:port</c>.</summary>
    public IReadOnlyDictionary<string, string> ManagementTargets => new Dictionary<string, string>
    {
        ["appliance"] = HostAndPort(Appliance),
        ["origin"] = HostAndPort(Origin),
        ["steering"] = HostAndPort(Steering),
        ["fill-controller"] = HostAndPort(FillController),
    };

    private static string HostAndPort(RunningRole role) => $"{role.ManagementAddress.Host}:{role.ManagementAddress.Port}";

    /// <summary>
    /// A player's play: steering's <c>/play</c> (until it offers the appliance), the appliance's
    /// multivariant playlist, every media playlist and the first segment of each, twice (a miss,
    /// then hits), and one object the origin does not have (404).
    /// </summary>
    public async Task PlayAsync()
    {
        using var steering = Steering.CreateClient();
        string? master = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (master is null)
        {
            using var response = await steering.GetAsync($"/play/{Title}");
            if (response.IsSuccessStatusCode)
            {
                using var play = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                master = play.RootElement.GetProperty("hls").GetProperty("pathways").EnumerateArray()
                    .Where(p => p.GetProperty("applianceId").GetString() == ApplianceId)
                    .Select(p => p.GetProperty("url").GetString())
                    .FirstOrDefault();
            }

            if (master is null)
            {
                Assert.True(DateTime.UtcNow < deadline, $"steering never offered {ApplianceId}: {(int)response.StatusCode}");
                await Task.Delay(200);
            }
        }

        using var player = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        for (var round = 0; round < 2; round++)
        {
            var masterUri = new Uri(master);
            var playlists = PlaylistUris.In(await player.GetStringAsync(masterUri)).Select(u => new Uri(masterUri, u)).ToList();
            Assert.NotEmpty(playlists);
            foreach (var playlist in playlists)
            {
                var segment = PlaylistUris.In(await player.GetStringAsync(playlist)).First();
                using var body = await player.GetAsync(new Uri(playlist, segment));
                Assert.Equal(HttpStatusCode.OK, body.StatusCode);
            }
        }

        // A new name each time: a miss the origin answers 404 (a parent fetch, not a failure).
        using var missing = await player.GetAsync(new Uri(new Uri(master), $"missing-{Guid.NewGuid():N}.m3u8"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>Opens the site's fill now, as an operator does, and returns the files placed and the end of the run's window.</summary>
    public async Task<(int FilesPlaced, DateTimeOffset OpenUntil)> OpenFillAsync()
    {
        using var operatorCertificate = Fleet.Issue("openconnect://operator/monitoring");
        var trust = new FleetTrust(Fleet.Authority);
        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = trust.ServerValidator(FleetIdentity.FillController), ClientCertificates = [operatorCertificate] } };
        using var client = new HttpClient(handler)
        {
            BaseAddress = FillController.Services.GetRequiredService<FillControlEndpoint>().Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
        using var response = await client.PostAsync($"/fill/sites/{Site}/open", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"fill open: {(int)response.StatusCode} {body}");
        using var opened = JsonDocument.Parse(body);
        return (opened.RootElement.GetProperty("filesPlaced").GetInt32(), opened.RootElement.GetProperty("openUntil").GetDateTimeOffset());
    }

    /// <summary>
    /// What players report for two new sessions: one start (TTFF 0.8 s) with 10 s played, 0.5 s
    /// rebuffering in one event and 8,000 kilobits played; one start failure.
    /// </summary>
    public async Task SendQoeAsync()
    {
        using var client = Origin.CreateClient();
        var played = Guid.NewGuid().ToString("N");
        var failed = Guid.NewGuid().ToString("N");
        string[] beacons =
        [
            $$"""{"kind":"start","session":"{{played}}","title":"{{Title}}","player":"hls","abr":"seed","site":"{{Site}}","appliance":"{{ApplianceId}}","ttffMs":800}""",
            $$"""{"kind":"progress","session":"{{played}}","title":"{{Title}}","player":"hls","abr":"seed","site":"{{Site}}","appliance":"{{ApplianceId}}","playSeconds":10,"rebufferSeconds":0.5,"rebufferCount":1,"playedKbits":8000,"bitrateKbps":800}""",
            $$"""{"kind":"failure","session":"{{failed}}","title":"{{Title}}","player":"hls","abr":"seed","site":"{{Site}}","appliance":"{{ApplianceId}}","error":"network"}""",
        ];
        foreach (var beacon in beacons)
        {
            using var response = await client.PostAsync("/api/qoe", new StringContent(beacon, Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"beacon refused: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _roles.Count - 1; i >= 0; i--)
        {
            await _roles[i].DisposeAsync();
        }

        Fleet.Dispose();
        State.Dispose();
    }

    /// <summary>The real clock moved by a fixed amount.</summary>
    private sealed class ShiftedClock(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}
