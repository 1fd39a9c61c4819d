using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.FillController.Placement;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// The fill protocol end to end on real hosts: steering's roster, the fill controller's window and
/// manifests (fake clock), appliances pulling manifests and filling from ranked sources, a test
/// parent standing in for the origin so every origin request is counted.
/// </summary>
public sealed class FillAgentTests
{
    private static readonly FileId R0 = new("t1", "r0");
    private static readonly DateTimeOffset Window = FillStack.Noon.AddHours(14).AddMinutes(1);

    [Fact]
    public async Task AtTheWindow_TheFileIsPushed_FetchedOnce_PinnedOutsideThePolicy_AndTheTitleGoesLive()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0", "r1"], 4, 50_000, 1));
        var (origin, title, plan, stack) = scenario;
        var appliance = stack.Own(await stack.StartApplianceAsync("oca-1"));

        // Before the window nothing is planned and nothing is fetched.
        await stack.MoveClockToAsync(FillStack.Noon.AddHours(13));
        await Task.Delay(1000);
        Assert.Equal(0, plan.Plans);
        Assert.Equal(0, title.RequestsAt(origin));

        await stack.MoveClockToAsync(Window);
        await stack.WaitUntilLiveAsync("t1");

        foreach (var path in title.FilePaths("r0"))
        {
            Assert.Equal(1, origin.RequestsFor(path));
        }

        Assert.All(title.SegmentPaths("r1"), path => Assert.Equal(0, origin.RequestsFor(path)));
        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        var expectedPinned = title.FilePaths("r0").Sum(p => (long)title.Objects[p[$"/v/{title.Title}/".Length..]].Length) + title.Manifest.Length;
        Assert.Equal(expectedPinned, cache.PinnedBytes);
        Assert.Equal((64L << 20) - expectedPinned, cache.SsdPolicyCapacityBytes);
        foreach (var path in title.FilePaths("r0"))
        {
            Assert.True(cache.IsPinned(KeyHash.Of(path)), path);
            Assert.False(cache.InSsdPolicy(KeyHash.Of(path)), path);
        }

        var status = await stack.StatusAsync();
        var t1 = status.GetProperty("titles").EnumerateArray().Single();
        Assert.Equal(1, t1.GetProperty("copiesPlanned").GetInt32());
        Assert.Equal(1, t1.GetProperty("copiesComplete").GetInt32());
        var document = await stack.Controller.MetricsAsync();
        Assert.Equal(1, document.Value("openconnect_fill_titles", ("site", "isp1"), ("state", "live")));
    }

    [Fact]
    public async Task OpenNow_RejectsMalformedAndUnknownSites_AndTheRosterCarriesSsdBytes()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0"], 1, 1000, 7));
        var stack = scenario.Stack;
        stack.Own(await stack.StartApplianceAsync("oca-1"));

        var malformed = await stack.Http.PostAsync("/fill/sites/bad%20site/open", null);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("not a site name", await malformed.Content.ReadAsStringAsync());
        var unknown = await stack.Http.PostAsync("/fill/sites/isp9/open", null);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no appliance in site 'isp9'", await unknown.Content.ReadAsStringAsync());
        Assert.Equal(0, scenario.Plan.Plans);

        var roster = await stack.Controller.Services.GetRequiredService<OpenConnect.FillController.Fill.RosterClient>().ListAsync(CancellationToken.None);
        var entry = Assert.Single(roster);
        Assert.Equal(("oca-1", "isp1", 64L << 20), (entry.ApplianceId, entry.Site, entry.SsdBytes));
    }

    [Fact]
    public async Task ANewManifest_UnpinsOnlyTheFilesItDrops_AndKeepsTheTitleLevelObjectsOfTitlesItKeeps()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0", "r1"], 3, 20_000, 8));
        var (_, title, plan, stack) = scenario;
        var r1 = new FileId("t1", "r1");
        plan.Set(("oca-1", [R0, r1]));
        var appliance = stack.Own(await stack.StartApplianceAsync("oca-1"));
        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        await stack.MoveClockToAsync(Window);
        await stack.WaitUntilLiveAsync("t1");
        Assert.True(title.FilePaths("r1").All(p => cache.IsPinned(KeyHash.Of(p))));

        plan.Set(("oca-1", [R0]));
        await stack.OpenNowAsync();
        var r1Only = title.SegmentPaths("r1").Concat(title.FilePaths("r1").Where(p => p.Contains("/r1/", StringComparison.Ordinal))).Distinct().ToList();
        await Eventually.TrueAsync(() => Task.FromResult(r1Only.All(p => !cache.IsPinned(KeyHash.Of(p)))), "r1's objects unpinned");
        Assert.All(title.FilePaths("r0"), path => Assert.True(cache.IsPinned(KeyHash.Of(path)), path));
        Assert.All(r1Only, path => Assert.True(cache.InSsdPolicy(KeyHash.Of(path)), path));
    }

    [Fact]
    public async Task PinsSurviveARestart_AndAFileDroppedFromTheManifest_GoesBackUnderThePolicy()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0"], 3, 40_000, 2));
        var (origin, title, plan, stack) = scenario;
        var first = await stack.StartApplianceAsync("oca-1");
        await stack.MoveClockToAsync(Window);
        await stack.WaitUntilLiveAsync("t1");
        var pinned = first.Services.GetRequiredService<SegmentCache>().PinnedCount;
        Assert.Equal(title.Objects.Count + 1, pinned);
        await first.DisposeAsync();

        var appliance = stack.Own(await stack.StartApplianceAsync("oca-1"));
        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        Assert.Equal(pinned, cache.PinnedCount);
        Assert.All(title.FilePaths("r0"), path => Assert.False(cache.InSsdPolicy(KeyHash.Of(path)), path));

        plan.Set(("oca-1", []));
        await stack.OpenNowAsync();
        await Eventually.TrueAsync(() => Task.FromResult(cache.PinnedCount == 0), "every object unpinned");
        Assert.Equal(64L << 20, cache.SsdPolicyCapacityBytes);
        foreach (var path in title.FilePaths("r0"))
        {
            Assert.True(cache.HeldOnSsd(KeyHash.Of(path)), path);
            Assert.True(cache.InSsdPolicy(KeyHash.Of(path)), path);
        }
    }

    [Fact]
    public async Task APeerOfTheSiteIsTheFirstSource_AndAnObjectItServesCorrupted_IsRejectedAndTakenFromTheOrigin()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0"], 5, 60_000, 3));
        var (origin, title, plan, stack) = scenario;
        stack.Own(await stack.StartApplianceAsync("oca-1"));
        var second = stack.Own(await stack.StartApplianceAsync("oca-2"));
        await stack.MoveClockToAsync(Window);
        await stack.WaitUntilLiveAsync("t1");

        var corrupted = title.PathOf("r0/seg-00002.m4s");
        CorruptStoredObject(stack.State.Combine("oca-1"), corrupted);
        plan.Set(("oca-1", [R0]), ("oca-2", [R0]));
        await stack.OpenNowAsync();
        await stack.WaitUntilLiveAsync("t1");
        await Eventually.TrueAsync(async () => (await stack.StatusAsync()).GetProperty("titles")[0].GetProperty("copiesComplete").GetInt32() == 2, "both copies complete");

        // oca-2 took every object from its peer except the corrupted one, which came from the origin.
        foreach (var path in title.FilePaths("r0"))
        {
            Assert.Equal(path == corrupted ? 2 : 1, origin.RequestsFor(path));
        }

        using var client = second.CreateClient();
        Assert.Equal(title.Objects["r0/seg-00002.m4s"], await client.GetByteArrayAsync(corrupted));
        var metrics = await second.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_appliance_fill_source_failures_total", ("reason", "integrity")));
    }

    [Fact]
    public async Task APeerThatIsDown_IsSkippedForTheOrigin_AndTriedLastForTheRestOfThePass()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0"], 5, 60_000, 4));
        var (origin, title, plan, stack) = scenario;
        var first = await stack.StartApplianceAsync("oca-1");
        var second = stack.Own(await stack.StartApplianceAsync("oca-2"));
        await stack.MoveClockToAsync(Window);
        await stack.WaitUntilLiveAsync("t1");
        await first.DisposeAsync();

        plan.Set(("oca-2", [R0]));
        var opened = await stack.OpenNowAsync();
        Assert.Equal(1, opened.GetProperty("filesPlaced").GetInt32());
        await stack.WaitUntilLiveAsync("t1");

        Assert.All(title.FilePaths("r0"), path => Assert.Equal(2, origin.RequestsFor(path)));
        using var client = second.CreateClient();
        var metrics = await second.MetricsAsync();
        // One failed attempt at the dead peer (the first object); after that it is asked last.
        Assert.Equal(1, metrics.Value("openconnect_appliance_fill_source_failures_total", ("reason", "error")));
    }

    [Fact]
    public async Task AnApplianceDownDuringItsWindow_FetchesNothingOutsideIt_AndCatchesUpInTheNext()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0"], 3, 30_000, 5));
        var (origin, title, plan, stack) = scenario;
        var early = await stack.StartApplianceAsync("oca-1");
        await early.DisposeAsync();

        await stack.MoveClockToAsync(Window);
        Assert.Equal("filling", await stack.TitleStateAsync("t1"));
        await stack.MoveClockToAsync(Window.AddHours(5));

        var appliance = stack.Own(await stack.StartApplianceAsync("oca-1"));
        var agent = appliance.Services.GetRequiredService<OpenConnect.Appliance.Fill.FillAgent>();
        await Eventually.TrueAsync(() => Task.FromResult(agent.ManifestVersion > 0), "the appliance fetched its manifest");
        await Task.Delay(1500);
        Assert.Equal(0, title.RequestsAt(origin));
        Assert.Equal("filling", await stack.TitleStateAsync("t1"));

        await stack.MoveClockToAsync(Window.AddDays(1));
        await stack.WaitUntilLiveAsync("t1");
        Assert.All(title.FilePaths("r0"), path => Assert.Equal(1, origin.RequestsFor(path)));
    }

    [Fact]
    public async Task APassLongerThanTheWindow_StopsBetweenFilesAtTheWindowsEnd_AndTheRestWaitsForTheNextWindow()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0", "r1"], 3, 30_000, 7));
        var (origin, title, plan, stack) = scenario;
        plan.Set(("oca-1", [R0, new FileId("t1", "r1")]));
        // The first segment fetched is held until the clock has passed the window's end (06:00).
        var held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        origin.BeforeResponse = path => path.EndsWith(".m4s", StringComparison.Ordinal) && held.TrySetResult(path) ? release.Task : Task.CompletedTask;
        stack.Own(await stack.StartApplianceAsync("oca-1"));

        await stack.MoveClockToAsync(Window);
        var first = await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stack.MoveClockToAsync(Window.AddHours(4)); // 06:01, past the window's end
        release.SetResult();

        var begun = first.Contains("/r0/", StringComparison.Ordinal) ? "r0" : "r1";
        var other = begun == "r0" ? "r1" : "r0";
        // The file begun is finished; the other is not started after the window's end.
        await Eventually.TrueAsync(() => Task.FromResult(title.SegmentPaths(begun).All(p => origin.RequestsFor(p) == 1)), $"{begun} finished");
        await Task.Delay(1500);
        Assert.All(title.SegmentPaths(other), path => Assert.Equal(0, origin.RequestsFor(path)));
        Assert.Equal("filling", await stack.TitleStateAsync("t1"));

        await stack.MoveClockToAsync(Window.AddDays(1));
        await stack.WaitUntilLiveAsync("t1");
        Assert.All(title.FilePaths("r0").Concat(title.FilePaths("r1")).Where(p => p.EndsWith(".m4s", StringComparison.Ordinal)), path => Assert.Equal(1, origin.RequestsFor(path)));
    }

    [Fact]
    public async Task AFillKilledMidway_ResumesAfterRestart_WithoutFetchingCompletedObjectsAgain()
    {
        await using var scenario = await Scenario.StartAsync(new SyntheticTitle("t1", ["r0"], 12, 100_000, 6));
        var (origin, title, plan, stack) = scenario;
        // 1.2 MB at 200 kB/s: about 6 s, so the kill lands mid-file.
        const string Rate = "--Appliance:Fill:RateBytesPerSecond=200000";
        var first = await stack.StartApplianceProcessAsync("oca-1", "isp1", Rate);
        await stack.MoveClockToAsync(Window);
        var segments = title.SegmentPaths("r0").ToList();
        await Eventually.TrueAsync(() => Task.FromResult(segments.Count(p => origin.RequestsFor(p) > 0) >= 4), "four segments fetched");
        await first.KillAsync();
        await first.DisposeAsync();
        var before = segments.Where(p => origin.RequestsFor(p) > 0).ToList();
        Assert.True(before.Count < segments.Count, "the fill finished before the kill");
        Assert.NotEqual("live", await stack.TitleStateAsync("t1"));

        stack.Own(await stack.StartApplianceProcessAsync("oca-1", "isp1"));
        await stack.WaitUntilLiveAsync("t1");

        Assert.All(segments, path => Assert.InRange(origin.RequestsFor(path), 1, 2));
        // At most the object in flight at the kill is fetched twice; every completed one stays.
        var twice = segments.Where(p => origin.RequestsFor(p) == 2).ToList();
        Assert.True(twice.Count <= 1, $"fetched again after the restart: {string.Join(", ", twice)}");
        Assert.All(twice, p => Assert.Equal(before[^1], p));
    }

    /// <summary>A test parent serving the title as the origin, and a stack whose plan puts t1/r0 on oca-1.</summary>
    private sealed record Scenario(TestParent Origin, SyntheticTitle Title, FixedPlan Plan, FillStack Stack) : IAsyncDisposable
    {
        public static async Task<Scenario> StartAsync(SyntheticTitle title)
        {
            var origin = await TestParent.StartAsync();
            title.PublishTo(origin);
            var plan = new FixedPlan();
            plan.Set(("oca-1", [R0]));
            return new Scenario(origin, title, plan, await FillStack.StartAsync(origin.BaseAddress.ToString(), plan));
        }

        public async ValueTask DisposeAsync()
        {
            await Stack.DisposeAsync();
            await Origin.DisposeAsync();
        }
    }

    /// <summary>Flips a body byte of the stored object for <paramref name="path"/> on an appliance's SSD tier.</summary>
    private static void CorruptStoredObject(string cacheDirectory, string path)
    {
        var needle = Encoding.UTF8.GetBytes(path);
        foreach (var file in Directory.EnumerateFiles(cacheDirectory, "*.obj", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.AsSpan(0, 4096).IndexOf(needle) >= 0)
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
                stream.Position = 4096 + 100;
                var b = stream.ReadByte();
                stream.Position = 4096 + 100;
                stream.WriteByte((byte)(b ^ 0xFF));
                return;
            }
        }

        Assert.Fail($"{path} is not stored under {cacheDirectory}");
    }
}
