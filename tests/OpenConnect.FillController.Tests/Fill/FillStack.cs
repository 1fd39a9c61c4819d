using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Appliance;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;
using ControlPlaneGrpc = OpenConnect.Contracts.Steering.V1.ControlPlane;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// Real steering and a real fill controller in-process on loopback ports, joined by the fleet's
/// mutual TLS (a test fleet CA in steering's fleet directory, the controller holding an
/// <c>openconnect://fill-controller</c> certificate it also serves its control listener with; the
/// operator endpoints called with an <c>openconnect://operator/test</c> certificate; the controller's clock a
/// <see cref="FakeTimeProvider"/> starting at <see cref="Noon"/> UTC, site windows UTC 02:00–06:00),
/// in front of an origin URL the test provides; appliances start in-process or as processes and
/// register with steering and poll the controller every 200 ms.
/// </summary>
public sealed class FillStack : IAsyncDisposable
{
    /// <summary>Today's noon UTC: the same day steering's real clock counts plays on, so history and the fake clock agree.</summary>
    public static readonly DateTimeOffset Noon = new(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero);

    private readonly List<IAsyncDisposable> _owned = [];

    private readonly Func<string[], WebApplication> _buildController;
    private readonly string[] _controllerSettings;

    private FillStack(TempDirectory state, FleetCertificates fleet, string originUrl, RunningRole steering, RunningRole controller, FakeTimeProvider time,
        Func<string[], WebApplication> buildController, string[] controllerSettings)
    {
        _buildController = buildController;
        _controllerSettings = controllerSettings;
        State = state;
        Fleet = fleet;
        OriginUrl = originUrl;
        Steering = steering;
        Controller = controller;
        Time = time;
        SteeringControl = steering.Services.GetRequiredService<ControlEndpoint>().Address;
        FillControl = controller.Services.GetRequiredService<FillControlEndpoint>().Address;
        OperatorCertificate = fleet.Issue("openconnect://operator/test");
        Http = ControlClient(OperatorCertificate);
    }

    /// <summary>The operator's certificate <see cref="Http"/> presents.</summary>
    public X509Certificate2 OperatorCertificate { get; }

    /// <summary>An HTTP/2 client to the controller's control listener presenting <paramref name="certificate"/> (none when null).</summary>
    public HttpClient ControlClient(X509Certificate2? certificate) => ControlClient(Controller, certificate);

    /// <summary>An HTTP/2 client to <paramref name="controller"/>'s control listener presenting <paramref name="certificate"/> (none when null).</summary>
    public HttpClient ControlClient(RunningRole controller, X509Certificate2? certificate) =>
        FleetClients.Http2(controller.Services.GetRequiredService<FillControlEndpoint>().Address, certificate, Fleet.Authority, FleetIdentity.FillController);

    public TempDirectory State { get; }

    /// <summary>The fleet CA steering loaded; issues the appliances' certificates.</summary>
    public FleetCertificates Fleet { get; }

    public string OriginUrl { get; }

    public RunningRole Steering { get; }

    public RunningRole Controller { get; private set; }

    public FakeTimeProvider Time { get; }

    /// <summary>The operator's client on the controller's control listener (<c>/fill/sites/…</c>).</summary>
    public HttpClient Http { get; private set; }

    public Uri SteeringControl { get; }

    public Uri FillControl { get; private set; }

    /// <param name="originUrl">Base URL of the origin (or a test parent standing in for it).</param>
    /// <param name="plan">Placement test double; null uses the registered forecast and planner.</param>
    /// <param name="settings">Extra fill-controller settings.</param>
    public static Task<FillStack> StartAsync(string originUrl, FixedPlan? plan, params string[] settings) =>
        StartAsync(originUrl, plan, controllerCertificate: null, settings);

    /// <param name="originUrl">Base URL of the origin (or a test parent standing in for it).</param>
    /// <param name="plan">Placement test double; null uses the registered forecast and planner.</param>
    /// <param name="controllerCertificate">Validity of the controller's first certificate (default: from now, 7 days).</param>
    /// <param name="settings">Extra fill-controller settings.</param>
    public static async Task<FillStack> StartAsync(string originUrl, FixedPlan? plan, (DateTimeOffset NotBefore, TimeSpan Lifetime)? controllerCertificate, params string[] settings)
    {
        var state = new TempDirectory("openconnect-fill");
        var prefixes = state.Combine("steering", "prefixes");
        Directory.CreateDirectory(prefixes);
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "127.0.0.0/8\n::1/128\n");
        var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        var steering = await RunningRole.StartAsync(SteeringHost.Build,
            $"--Steering:DataDirectory={state.Combine("steering")}", "--Steering:ControlUrl=https://127.0.0.1:0", "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={originUrl.TrimEnd('/')}",
            // Every play comes from 127.0.0.1: count each one, and let them through.
            "--Steering:CountRepeatPlays=true", "--Steering:PlayRateLimitBurst=100000");
        var control = steering.Services.GetRequiredService<ControlEndpoint>().Address;
        var time = new FakeTimeProvider(Noon);
        var (certificateFile, keyFile) = FleetClients.WriteFillController(fleet, state.Combine("fill-controller-fleet"), controllerCertificate?.NotBefore, controllerCertificate?.Lifetime);
        string[] all =
        [
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={fleet.CaCertificateFile}",
            $"--FillController:DataDirectory={state.Combine("fill-controller")}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fill:SteeringControlUrl={control}",
            $"--FillController:Fill:OriginUrl={originUrl.TrimEnd('/')}",
            $"--FillController:Origin:Url={originUrl.TrimEnd('/')}",
            $"--FillController:Steering:Url={steering.BaseAddress.ToString().TrimEnd('/')}",
            "--FillController:Fill:CheckInterval=00:00:01",
            .. settings,
        ];
        WebApplication Build(string[] args) => FillControllerHost.Build(args, services =>
        {
            services.AddSingleton<TimeProvider>(time);
            if (plan is not null)
            {
                services.AddSingleton<IPopularityForecast>(plan);
                services.AddSingleton<IPlacementPlanner>(plan);
            }
        });
        var controller = await RunningRole.StartAsync(Build, all);
        return new FillStack(state, fleet, originUrl, steering, controller, time, Build, all);
    }

    /// <summary>
    /// Starts another fill controller with this one's settings, clock and plan, then
    /// <paramref name="settings"/> (e.g. a control port of its own); the caller disposes it.
    /// </summary>
    public Task<RunningRole> StartAnotherControllerAsync(params string[] settings) => RunningRole.StartAsync(_buildController, [.. _controllerSettings, .. settings]);

    /// <summary>
    /// Stops the fill controller and starts a new one with the same settings, clock and plan: nothing
    /// in memory carries over, only what its state store kept. Appliances find it again when the
    /// settings name a fixed <c>FillController:Fill:ControlUrl</c> port.
    /// </summary>
    public async Task RestartControllerAsync()
    {
        Http.Dispose();
        await Controller.DisposeAsync();
        Controller = await RunningRole.StartAsync(_buildController, _controllerSettings);
        FillControl = Controller.Services.GetRequiredService<FillControlEndpoint>().Address;
        Http = ControlClient(OperatorCertificate);
    }

    /// <summary>
    /// Settings of an appliance of this stack: enrolled (a fleet certificate for <paramref name="id"/>
    /// in <paramref name="site"/>, written on first use), registered with steering, polling the
    /// controller, pulling misses from the origin.
    /// </summary>
    public string[] ApplianceSettings(string id, string site, params string[] settings)
    {
        var fleetDirectory = State.Combine(id + "-fleet");
        if (!File.Exists(Path.Combine(fleetDirectory, "appliance.crt")))
        {
            Fleet.WriteAppliance(fleetDirectory, site, id).Dispose();
        }

        return
        [
        .. Fleet.ApplianceSettings(fleetDirectory),
        $"--Appliance:Id={id}",
        $"--Appliance:Site={site}",
        $"--Appliance:Cache:Directory={State.Combine(id)}",
        "--Appliance:ControlUrl=https://127.0.0.1:0",
        "--Appliance:UnsignedNetworks:0=127.0.0.0/8",
        "--Appliance:Upstream:AllowUnsignedContent=true",
        $"--Appliance:Parents:0={OriginUrl}",
        $"--Appliance:Steering:Url={SteeringControl}",
        "--Appliance:Steering:HeartbeatInterval=00:00:00.2",
        $"--Appliance:Fill:ControllerUrl={FillControl}",
        "--Appliance:Fill:PollInterval=00:00:00.2",
        "--Appliance:Cache:RamBytes=4194304",
        "--Appliance:Cache:SsdBytes=67108864",
        .. settings,
        ];
    }

    public async Task<RunningRole> StartApplianceAsync(string id, string site = "isp1", params string[] settings)
    {
        var appliance = await RunningRole.StartAsync(ApplianceHost.Build, ApplianceSettings(id, site, settings));
        await WaitForRosterAsync(id);
        return appliance;
    }

    public async Task<RoleProcess> StartApplianceProcessAsync(string id, string site = "isp1", params string[] settings)
    {
        var appliance = await RoleProcess.StartAsync("appliance", typeof(ApplianceHost).Assembly.Location, null, ApplianceSettings(id, site, settings));
        await WaitForRosterAsync(id);
        return appliance;
    }

    /// <summary>
    /// Registers appliance <paramref name="id"/> of site isp1 with steering over its control plane,
    /// presenting <paramref name="certificate"/> as the appliance would (its parent listener
    /// <paramref name="parentUrl"/>, none when empty).
    /// </summary>
    public async Task RegisterApplianceAsync(X509Certificate2 certificate, string id, string publicUrl = "http://127.0.0.1:9", string parentUrl = "")
    {
        using var channel = GrpcChannel.ForAddress(SteeringControl, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = { ClientCertificates = [certificate], RemoteCertificateValidationCallback = new FleetTrust(Fleet.Authority).ServerValidator(FleetIdentity.Steering) },
            },
        });
        await new ControlPlaneGrpc.ControlPlaneClient(channel).RegisterAsync(new RegisterRequest
        {
            Identity = new ApplianceIdentity { ApplianceId = id, Site = "isp1", PublicUrl = publicUrl, ParentUrl = parentUrl, CapacityBytesPerSecond = 1_000_000_000, MaxConnections = 1000, SsdBytes = 1 << 30 },
            InstanceId = id + "-instance",
        });
    }

    /// <summary>A gRPC channel to the controller's control listener presenting <paramref name="certificate"/> (none when null); the server must be the fill controller.</summary>
    public GrpcChannel FillOrdersChannel(X509Certificate2? certificate)
    {
        var ssl = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = new FleetTrust(Fleet.Authority).ServerValidator(FleetIdentity.FillController) };
        if (certificate is not null)
        {
            ssl.ClientCertificates = [certificate];
        }

        return GrpcChannel.ForAddress(FillControl, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { SslOptions = ssl } });
    }

    /// <summary>Waits until steering's roster, as the controller reads it over mutual TLS, lists <paramref name="id"/>.</summary>
    public async Task WaitForRosterAsync(string id)
    {
        var roster = Controller.Services.GetRequiredService<RosterClient>();
        await Eventually.TrueAsync(async () => (await roster.ListAsync(CancellationToken.None)).Any(a => a.ApplianceId == id), $"{id} registered with steering");
    }

    /// <summary>
    /// Moves the controller's clock to <paramref name="instant"/> and waits for a scheduler pass that
    /// read the clock at or after it and completed every check (<see cref="WindowScheduler.LastCheckedAt"/>):
    /// that pass read the roster after the move, so it saw every appliance the test registered before.
    /// A pass that was under way at the move, or that failed in part, is followed by a next wait on
    /// the fake clock, which no real time ends: while no such pass has completed, the clock is nudged
    /// on by the check interval every second.
    /// </summary>
    public async Task MoveClockToAsync(DateTimeOffset instant)
    {
        var scheduler = Controller.Services.GetRequiredService<WindowScheduler>();
        var interval = Controller.Services.GetRequiredService<IOptions<FillControllerOptions>>().Value.Fill.CheckInterval;
        Time.SetUtcNow(instant);
        var nudgeAt = DateTime.UtcNow.AddSeconds(1);
        await Eventually.TrueAsync(() =>
        {
            if (scheduler.LastCheckedAt >= instant)
            {
                return Task.FromResult(true);
            }

            if (DateTime.UtcNow >= nudgeAt)
            {
                Time.Advance(interval);
                nudgeAt = DateTime.UtcNow.AddSeconds(1);
            }

            return Task.FromResult(false);
        }, "a scheduler pass that read the moved clock");
    }

    public async Task<JsonElement> StatusAsync(string site = "isp1")
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync($"/fill/sites/{site}"));
        return document.RootElement.Clone();
    }

    public async Task<string?> TitleStateAsync(string title, string site = "isp1")
    {
        var status = await StatusAsync(site);
        return status.GetProperty("titles").EnumerateArray().Where(t => t.GetProperty("title").GetString() == title).Select(t => t.GetProperty("state").GetString()).FirstOrDefault();
    }

    public async Task WaitUntilLiveAsync(string title, string site = "isp1", int seconds = 60)
    {
        var last = "";
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                last = (await StatusAsync(site)).ToString();
                return await TitleStateAsync(title, site) == "live";
            }, $"{title} live in {site}", TimeSpan.FromSeconds(seconds));
        }
        catch (Xunit.Sdk.FailException ex)
        {
            throw new Xunit.Sdk.XunitException($"{ex.Message}; last status: {last}");
        }
    }

    public async Task<JsonElement> OpenNowAsync(string site = "isp1")
    {
        var response = await Http.PostAsync($"/fill/sites/{site}/open", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>Disposes <paramref name="item"/> with the stack (after the appliances the test stopped itself).</summary>
    public T Own<T>(T item)
        where T : IAsyncDisposable
    {
        _owned.Add(item);
        return item;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        Http.Dispose();
        OperatorCertificate.Dispose();
        await Controller.DisposeAsync();
        await Steering.DisposeAsync();
        Fleet.Dispose();
        State.Dispose();
    }
}

/// <summary>Polls a condition until it holds or a deadline passes (then fails with what was awaited).</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for: {what}");
            }

            await Task.Delay(100);
        }
    }
}
