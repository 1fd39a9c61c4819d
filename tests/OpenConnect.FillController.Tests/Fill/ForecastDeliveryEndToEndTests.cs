using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// The fill controller's per-title forecast travels with the night manifest to an appliance running
/// <c>Cache:Policy=video</c> and becomes its SSD policy's prior; a restarted appliance has it again from
/// the stored manifest. Real origin (ffmpeg-packaged title), steering, fill controller (fake clock) and appliance.
/// </summary>
public sealed class ForecastDeliveryEndToEndTests
{
    private const string Title = "t1";

    [Fact]
    public async Task The_night_manifest_s_forecast_reaches_the_video_policy_and_survives_a_restart()
    {
        using var originState = new TempDirectory("openconnect-fill-origin");
        await using var origin = await PublishingOrigin.StartAsync(originState, Title);
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan: null);
        string[] video = ["--Appliance:Cache:Policy=video", "--Appliance:Cache:VideoPriorWeight=1"];
        var appliance = await stack.StartApplianceAsync("oca-1", "isp1", video);
        double plays;
        try
        {
            var cache = appliance.Services.GetRequiredService<SegmentCache>();
            Assert.Null(cache.SsdPolicyPrior);

            using var steering = stack.Steering.CreateClient();
            for (var i = 0; i < 50; i++)
            {
                (await steering.GetAsync($"/play/{Title}")).EnsureSuccessStatusCode();
            }

            await stack.Controller.Services.GetRequiredService<PopularityCollector>().CollectAsync(CancellationToken.None);
            await stack.MoveClockToAsync(FillStack.Noon.AddHours(14).AddMinutes(1));
            await stack.WaitUntilLiveAsync(Title, seconds: 120);
            await Eventually.TrueAsync(() => Task.FromResult(cache.SsdPolicyPrior is { } p && p.Requests(ContentHint.TitleHash(Title), 0) > 0), "the manifest's forecast became the policy's prior");
            var prior = cache.SsdPolicyPrior!;
            Assert.Equal(1, prior.TitleCount);
            plays = prior.Requests(ContentHint.TitleHash(Title), 0);
            // Plays go to the first segments only; later positions are the policy's own counts.
            Assert.Equal(plays, prior.TotalRequests);
            Assert.Equal(0, prior.Requests(ContentHint.TitleHash(Title), 1));
        }
        finally
        {
            await appliance.DisposeAsync();
        }

        // Restarted: the stored manifest's forecast is the prior again, the controller's manifest unchanged.
        await using var restarted = await stack.StartApplianceAsync("oca-1", "isp1", video);
        var again = restarted.Services.GetRequiredService<SegmentCache>();
        await Eventually.TrueAsync(() => Task.FromResult(again.SsdPolicyPrior is not null), "the restarted appliance's policy has the stored forecast");
        Assert.Equal(plays, again.SsdPolicyPrior!.Requests(ContentHint.TitleHash(Title), 0));
    }

    [Fact]
    public void The_manifest_forecast_sums_a_title_s_renditions_most_played_first_without_empty_titles()
    {
        FileForecast[] files =
        [
            new(new FileId("a", "r0"), 10, 3), new(new FileId("a", "r1"), 10, 1),
            new(new FileId("b", "r0"), 10, 7),
            new(new FileId("c", "r0"), 10, 0), new(new FileId("d", "r0"), 10, double.NaN),
        ];

        var forecast = ManifestForecast.Of(files);
        Assert.Equal([("b", 7.0), ("a", 4.0)], forecast.Select(f => (f.Title, f.Plays)));
        Assert.Equal([("b", 7.0)], ManifestForecast.Of(files, maxTitles: 1).Select(f => (f.Title, f.Plays)));
    }

    [Fact]
    public void An_older_manifest_without_a_forecast_reads_as_an_empty_forecast()
    {
        var manifest = new FillManifest { Version = 3, ApplianceId = "oca-1", Site = "isp1", Day = "2026-12-08" };
        manifest.Files.Add(new FillFile { Title = "a", Rendition = "r0", Bytes = 1 });
        var decoded = OpenConnect.Contracts.Fill.ManifestCodec.Decode(OpenConnect.Contracts.Fill.ManifestCodec.Encode(manifest));
        Assert.Empty(decoded.Forecast);
        Assert.Single(decoded.Files);
    }
}
