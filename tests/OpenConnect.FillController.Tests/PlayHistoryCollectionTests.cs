using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.State;
using OpenConnect.FillController.Tests.Fill;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests;

/// <summary>
/// Real origin (a published ffmpeg package), real steering counting <c>/play</c> decisions, and the
/// real fill controller collecting them into SQLite and forecasting from them, all on loopback.
/// Steering serves <c>/history/plays</c> on its control listener to the fill controller's fleet
/// certificate (or an operator's), over mutual TLS; the player port answers 404.
/// </summary>
public sealed class PlayHistoryCollectionTests
{
    private const string Title = "t1";

    [Fact]
    public async Task Plays_AreCountedBySteering_CollectedOnce_PersistedAndForecastPerRenditionWithManifestSizes()
    {
        using var state = new TempDirectory("openconnect-fill-history");
        await using var origin = await PublishingOrigin.StartAsync(state, Title);

        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        var steeringTime = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var steering = await StartSteeringAsync(state, origin, steeringTime);
        using var player = steering.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await player.GetAsync("/history/plays")).StatusCode);
        var control = steering.Services.GetRequiredService<ControlEndpoint>().Address;
        // Valid from before steering's (fake, fixed) clock reading.
        using var fillCertificate = fleet.Issue(FleetIdentity.FillController.ToString(), server: true, notBefore: DateTimeOffset.UtcNow.AddMinutes(-5));
        using var operatorClient = FleetClients.Http2(control, fillCertificate, fleet.Authority, FleetIdentity.Steering);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await player.GetAsync($"/play/{Title}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await player.GetAsync("/play/nosuchtitle")).StatusCode);
        var today = DateOnly.FromDateTime(steeringTime.GetUtcNow().UtcDateTime);

        var history = await operatorClient.GetFromJsonAsync<JsonElement>("/history/plays");
        var row = Assert.Single(history.GetProperty("plays").EnumerateArray());
        Assert.Equal("isp1", row.GetProperty("site").GetString());
        Assert.Equal(Title, row.GetProperty("title").GetString());
        Assert.Equal(PopularityStore.Day(today), row.GetProperty("day").GetString());
        Assert.Equal(30, row.GetProperty("plays").GetInt64());
        var bad = await operatorClient.GetAsync("/history/plays?since=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("yyyy-MM-dd", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await operatorClient.GetFromJsonAsync<JsonElement>($"/history/plays?since={PopularityStore.Day(today.AddDays(1))}")).GetProperty("plays").EnumerateArray());

        var data = state.Combine("fill-controller");
        string[] settings =
        [
            .. FillControllerFleetSettings(state, fleet, control),
            $"--FillController:DataDirectory={data}",
            $"--FillController:Steering:Url={steering.BaseAddress.ToString().TrimEnd('/')}",
            $"--FillController:Origin:Url={origin.BaseAddress.ToString().TrimEnd('/')}",
            "--FillController:CollectInterval=01:00:00",
        ];
        await using (var fill = await RunningRole.StartAsync(FillControllerHost.Build, settings))
        {
            var collector = fill.Services.GetRequiredService<PopularityCollector>();
            await collector.CollectAsync(CancellationToken.None);
            await collector.CollectAsync(CancellationToken.None);
            var store = fill.Services.GetRequiredService<PopularityStore>();
            Assert.Equal(30, Assert.Single(store.Plays(today, today)).Plays);

            // Tomorrow's forecast: the title's smoothed plays, split over its renditions, sized from its integrity manifest.
            var forecast = await fill.Services.GetRequiredService<IPopularityForecast>().ForecastAsync("isp1", today.AddDays(1), CancellationToken.None);
            using var http = origin.CreateClient();
            var manifest = (await http.GetFromJsonAsync<IntegrityManifest>(IntegrityManifest.PathFor(Title)))!;
            var expectedBytes = RenditionSizes.Sum(manifest);
            Assert.Equal(expectedBytes.Keys.Order(), forecast.Select(f => f.File.Rendition).Order());
            Assert.All(forecast, f => Assert.Equal(expectedBytes[f.File.Rendition], f.Bytes));
            Assert.All(forecast, f => Assert.True(f.Bytes > 0));
            var options = new ForecastOptions();
            var window = today.AddDays(1 - options.HistoryDays);
            var (smoothed, _) = DemandModel.Smooth(new Dictionary<DateOnly, double> { [today] = 30 }, window, today.AddDays(1), options);
            Assert.Equal(smoothed, forecast.Sum(f => f.ExpectedRequests), 9);

            // The planner is registered and places the title's files on the appliance.
            var plan = fill.Services.GetRequiredService<IPlacementPlanner>().Plan("isp1", today.AddDays(1), [new PlacementAppliance("oca-1", 1L << 30)], forecast, null);
            Assert.Equal(forecast.Select(f => f.File.ToString()).Order(), plan.ByAppliance["oca-1"].Select(f => f.ToString()).Order());
        }

        // History outlives the fill controller.
        Assert.Equal(30, Assert.Single(new PopularityStore(StateDatabase.Sqlite(data)).Plays(today, today)).Plays);
    }

    [Fact]
    public async Task History_OnSteeringsControlListener_IsForTheFillControllerOrAnOperator_NotAnAppliance_NorThePlayerPort()
    {
        using var state = new TempDirectory("openconnect-fill-history");
        await using var origin = await PublishingOrigin.StartAsync(state, Title);
        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        await using var steering = await StartSteeringAsync(state, origin, TimeProvider.System);
        var control = steering.Services.GetRequiredService<ControlEndpoint>().Address;

        using var applianceCertificate = fleet.Issue("openconnect://appliance/isp1/a1");
        using (var appliance = FleetClients.Http2(control, applianceCertificate, fleet.Authority, FleetIdentity.Steering))
        {
            var refused = await appliance.GetAsync("/history/plays");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("openconnect://fill-controller", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var operatorCertificate = fleet.Issue("openconnect://operator/alice"))
        using (var operators = FleetClients.Http2(control, operatorCertificate, fleet.Authority, FleetIdentity.Steering))
        {
            Assert.Equal(HttpStatusCode.OK, (await operators.GetAsync("/history/plays")).StatusCode);
        }

        // No certificate: the control listener's handshake refuses the connection.
        using (var anonymous = FleetClients.Http2(control, null, fleet.Authority, FleetIdentity.Steering))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetAsync("/history/plays"));
        }

        // The player port no longer serves it, not even with the operator token.
        var token = (await File.ReadAllTextAsync(state.Combine("steering", "fleet", "operator.token"))).Trim();
        using var player = steering.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/history/plays") { Headers = { { "Authorization", "Bearer " + token } } };
        Assert.Equal(HttpStatusCode.NotFound, (await player.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Start_WithTheRetiredOperatorTokenSetting_IsRefusedNamingIt()
    {
        using var state = new TempDirectory("openconnect-fill-history");
        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        string[] settings =
        [
            .. FillControllerFleetSettings(state, fleet, new Uri("https://127.0.0.1:9")),
            $"--FillController:DataDirectory={state.Combine("fill-controller")}",
            $"--FillController:Steering:OperatorTokenFile={state.Combine("operator.token")}",
        ];
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(FillControllerHost.Build, settings));
        Assert.Contains("Steering:OperatorTokenFile", refused.ToString(), StringComparison.Ordinal);
        Assert.Contains("fleet certificate", refused.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Each steering replica counts the plays it answered; the fill controller reads every replica's
    /// history (kept per instance, so they add up), and one replica that is down does not stop the collection.
    /// </summary>
    [Fact]
    public async Task PlaysCountedByTwoSteeringReplicas_AreCollectedFromBoth_AndAddUp_EvenWithAThirdDown()
    {
        using var state = new TempDirectory("openconnect-fill-replicas");
        await using var origin = await PublishingOrigin.StartAsync(state, Title);
        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var first = await StartSteeringAsync(state, origin, time);
        await using var second = await StartSteeringAsync(state, origin, time, replica: "steering-2");
        using (var player = first.CreateClient())
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await player.GetAsync($"/play/{Title}")).StatusCode);
            }
        }

        using (var player = second.CreateClient())
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await player.GetAsync($"/play/{Title}")).StatusCode);
            }
        }

        var dead = $"https://127.0.0.1:{FreePort()}";
        string[] settings =
        [
            .. FillControllerFleetSettings(state, fleet, first.Services.GetRequiredService<ControlEndpoint>().Address),
            $"--FillController:Fill:SteeringControlUrls:0={second.Services.GetRequiredService<ControlEndpoint>().Address}",
            $"--FillController:Fill:SteeringControlUrls:1={dead}",
            $"--FillController:DataDirectory={state.Combine("fill-controller")}",
            $"--FillController:Steering:Url={first.BaseAddress.ToString().TrimEnd('/')}",
            $"--FillController:Origin:Url={origin.BaseAddress.ToString().TrimEnd('/')}",
            "--FillController:CollectInterval=01:00:00",
        ];
        await using var fill = await RunningRole.StartAsync(FillControllerHost.Build, settings);
        var collector = fill.Services.GetRequiredService<PopularityCollector>();
        await collector.CollectAsync(CancellationToken.None);
        await collector.CollectAsync(CancellationToken.None);
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        Assert.Equal(15, Assert.Single(fill.Services.GetRequiredService<PopularityStore>().Plays(today, today)).Plays);
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task<RunningRole> StartSteeringAsync(TempDirectory state, RunningRole origin, TimeProvider time, string replica = "steering")
    {
        var prefixes = state.Combine("steering", "prefixes");
        Directory.CreateDirectory(prefixes);
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "127.0.0.0/8\n::1/128\n");
        return await RunningRole.StartAsync(
            args => SteeringHost.Build(args, s => s.AddSingleton(time)),
            $"--Steering:DataDirectory={state.Combine(replica)}",
            $"--Steering:SigningKeyFile={state.Combine("steering", "keys", "steering-signing.key")}",
            $"--Steering:Fleet:Directory={state.Combine("steering", "fleet")}",
            $"--Steering:PrefixDirectory={prefixes}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={origin.BaseAddress.ToString().TrimEnd('/')}",
            "--Steering:CatalogCacheTime=00:00:00",
            "--Steering:CountRepeatPlays=true");
    }

    private static string[] FillControllerFleetSettings(TempDirectory state, FleetCertificates fleet, Uri steeringControl)
    {
        var (certificateFile, keyFile) = FleetClients.WriteFillController(fleet, state.Combine("fill-controller-fleet"));
        return
        [
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fill:SteeringControlUrl={steeringControl}",
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={fleet.CaCertificateFile}",
        ];
    }
}
