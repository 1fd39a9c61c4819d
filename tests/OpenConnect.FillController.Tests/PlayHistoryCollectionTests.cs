using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.Versioning;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Content;
using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;
using OpenConnect.Steering;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests;

/// <summary>
/// Real origin (a published ffmpeg package), real steering counting <c>/play</c> decisions, and the
/// real fill controller collecting them into SQLite and forecasting from them, all on loopback.
/// Steering's <c>/history/plays</c> takes the operator token; the controller reaches steering's
/// control plane with a fleet certificate.
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
        var token = (await File.ReadAllTextAsync(state.Combine("steering", "fleet", "operator.token"))).Trim();
        using var operatorClient = steering.CreateClient();
        operatorClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await player.GetAsync("/history/plays")).StatusCode);

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
            .. FillControllerFleetSettings(state, fleet),
            $"--FillController:Steering:OperatorTokenFile={state.Combine("steering", "fleet", "operator.token")}",
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
        Assert.Equal(30, Assert.Single(new PopularityStore(data).Plays(today, today)).Plays);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task Collector_WithoutOperatorToken_ReportsSteerings401AndTheSettingToSet()
    {
        using var state = new TempDirectory("openconnect-fill-history");
        await using var origin = await PublishingOrigin.StartAsync(state, Title);
        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        await using var steering = await StartSteeringAsync(state, origin, TimeProvider.System);
        string[] settings =
        [
            .. FillControllerFleetSettings(state, fleet),
            $"--FillController:DataDirectory={state.Combine("fill-controller")}",
            $"--FillController:Steering:Url={steering.BaseAddress.ToString().TrimEnd('/')}",
            $"--FillController:Origin:Url={origin.BaseAddress.ToString().TrimEnd('/')}",
            "--FillController:CollectInterval=01:00:00",
        ];

        await using (var fill = await RunningRole.StartAsync(FillControllerHost.Build, settings))
        {
            var collector = fill.Services.GetRequiredService<PopularityCollector>();
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => collector.CollectAsync(CancellationToken.None));
            Assert.Contains("steering answered 401 (Unauthorized) to GET /history/plays", refused.Message, StringComparison.Ordinal);
            Assert.Contains("FillController:Steering:OperatorTokenFile", refused.Message, StringComparison.Ordinal);
            Assert.Equal(0, collector.Collections);
        }

        // A wrong token: steering answers 403, and the collector names the file it read.
        var wrong = state.Combine("wrong.token");
        await File.WriteAllTextAsync(wrong, "not-the-operator-token-of-this-steering\n");
        File.SetUnixFileMode(wrong, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using (var fill = await RunningRole.StartAsync(FillControllerHost.Build, [.. settings, $"--FillController:Steering:OperatorTokenFile={wrong}"]))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => fill.Services.GetRequiredService<PopularityCollector>().CollectAsync(CancellationToken.None));
            Assert.Contains("steering answered 403 (Forbidden)", refused.Message, StringComparison.Ordinal);
            Assert.Contains(wrong, refused.Message, StringComparison.Ordinal);
        }

        // A token file others can read, or one that is missing, stops the start.
        File.SetUnixFileMode(wrong, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var open = await Assert.ThrowsAsync<InvalidOperationException>(() => RunningRole.StartAsync(FillControllerHost.Build, [.. settings, $"--FillController:Steering:OperatorTokenFile={wrong}"]));
        Assert.Contains("chmod 600", open.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => RunningRole.StartAsync(FillControllerHost.Build, [.. settings, $"--FillController:Steering:OperatorTokenFile={state.Combine("none.token")}"]));
        Assert.Contains("FillController:Steering:OperatorTokenFile", missing.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
    }

    private static async Task<RunningRole> StartSteeringAsync(TempDirectory state, RunningRole origin, TimeProvider time)
    {
        var prefixes = state.Combine("steering", "prefixes");
        Directory.CreateDirectory(prefixes);
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "127.0.0.0/8\n::1/128\n");
        return await RunningRole.StartAsync(
            args => SteeringHost.Build(args, s => s.AddSingleton(time)),
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={origin.BaseAddress.ToString().TrimEnd('/')}",
            "--Steering:CatalogCacheTime=00:00:00",
            "--Steering:CountRepeatPlays=true");
    }

    private static string[] FillControllerFleetSettings(TempDirectory state, FleetCertificates fleet)
    {
        var (certificateFile, keyFile) = fleet.WriteService(state.Combine("fill-controller-fleet"), "fill-controller", "openconnect://fill-controller");
        return
        [
            "--FillController:Fill:ControlUrl=http://127.0.0.1:0",
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={fleet.CaCertificateFile}",
        ];
    }
}
