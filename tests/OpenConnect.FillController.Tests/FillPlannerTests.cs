using OpenConnect.Contracts.Placement;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Tests;

public class FillPlannerTests
{
    private static readonly DateOnly Day1 = new(2026, 11, 24);

    private static readonly string[] Renditions = ["1080p", "720p", "360p", "audio"];

    private static readonly long[] RenditionBytes = [900_000_000, 500_000_000, 150_000_000, 40_000_000];

    /// <summary>A Zipf-like forecast: title i has 1000/(i+1)^0.8 expected plays, split 50/35/15 over video, audio read by every play.</summary>
    private static List<FileForecast> Forecast(int titles, Func<int, double>? plays = null, string prefix = "t")
    {
        var files = new List<FileForecast>();
        for (var i = 0; i < titles; i++)
        {
            var p = plays?.Invoke(i) ?? 1000 / Math.Pow(i + 1, 0.8);
            double[] shares = [0.5, 0.35, 0.15, 1.0];
            for (var r = 0; r < Renditions.Length; r++)
            {
                files.Add(new FileForecast(new FileId($"{prefix}{i:D4}", Renditions[r]), RenditionBytes[r], p * shares[r]));
            }
        }

        return files;
    }

    private static List<PlacementAppliance> Appliances(int count, long capacity) =>
        Enumerable.Range(0, count).Select(i => new PlacementAppliance($"oca-{i}", capacity)).ToList();

    private static FillPlanner Planner(double fetchCost = 1.0, double copyShare = 0.02) =>
        new(new PlannerOptions { FetchCostRequests = fetchCost, CopyLoadShare = copyShare });

    private static HashSet<(string Appliance, FileId File)> Pairs(SitePlacement placement) =>
        placement.ByAppliance.SelectMany(p => p.Value.Select(f => (p.Key, f))).ToHashSet();

    [Theory]
    [InlineData(1, 5_000_000_000L, 200)]
    [InlineData(4, 20_000_000_000L, 500)]
    [InlineData(6, 3_000_000_000L, 300)]
    [InlineData(3, 100_000_000L, 50)]
    [InlineData(5, 0L, 50)]
    public void EveryApplianceStaysWithinItsCapacity_AndHoldsAFileAtMostOnce(int count, long capacity, int titles)
    {
        var appliances = Appliances(count, capacity);
        // Uneven capacities too: the last appliance is half the size.
        appliances[^1] = appliances[^1] with { CapacityBytes = capacity / 2 };
        var forecast = Forecast(titles);
        var sizes = forecast.ToDictionary(f => f.File, f => f.Bytes);

        var plan = Planner().Plan("isp1", Day1, appliances, forecast, previous: null);

        Assert.Equal(appliances.Select(a => a.ApplianceId).Order(), plan.ByAppliance.Keys.Order());
        foreach (var appliance in appliances)
        {
            var files = plan.ByAppliance[appliance.ApplianceId];
            Assert.True(files.Sum(f => sizes[f]) <= appliance.CapacityBytes, $"{appliance.ApplianceId} overfilled");
            Assert.Equal(files.Count, files.Distinct().Count());
        }

        if (capacity >= RenditionBytes[0])
        {
            Assert.Contains(new FileId("t0000", "1080p"), plan.ByAppliance.Values.SelectMany(f => f));
        }
    }

    [Fact]
    public void AFullSite_KeepsTheMostRequestedFiles()
    {
        var appliances = Appliances(3, 10_000_000_000);
        var forecast = Forecast(400);
        var plan = Planner().Plan("isp1", Day1, appliances, forecast, previous: null);

        var placed = plan.ByAppliance.Values.SelectMany(f => f).ToHashSet();
        var coldestPlaced = forecast.Where(f => placed.Contains(f.File)).Min(f => f.ExpectedRequests);
        var hottestLeftOut = forecast.Where(f => !placed.Contains(f.File)).Max(f => f.ExpectedRequests);
        // Greedy by requests per byte (whole files): nothing left out is hotter than something
        // placed, except where a smaller file fitted the last gap.
        Assert.True(hottestLeftOut <= forecast.Where(f => placed.Contains(f.File) && f.Bytes >= RenditionBytes[0]).Min(f => f.ExpectedRequests), $"{hottestLeftOut} left out, {coldestPlaced} placed");
        foreach (var appliance in appliances)
        {
            var used = plan.ByAppliance[appliance.ApplianceId].Sum(f => forecast.First(x => x.File == f).Bytes);
            Assert.True(appliance.CapacityBytes - used < RenditionBytes[0], $"{appliance.ApplianceId} left {appliance.CapacityBytes - used} bytes unused while files were left out");
        }
    }

    [Fact]
    public void HotTitles_AreReplicated_OnThePrefixOfTheirRanking_ColdOnesHaveOneCopy()
    {
        var appliances = Appliances(5, 50_000_000_000);
        var forecast = Forecast(300);
        var plan = Planner().Plan("isp1", Day1, appliances, forecast, previous: null);
        var copies = plan.ByAppliance.Values.SelectMany(f => f).GroupBy(f => f).ToDictionary(g => g.Key, g => g.Count());

        // Copies follow popularity: 1000 plays of 1080p on t0000 is far above 2% of an average appliance's load.
        var hottest = new FileId("t0000", "1080p");
        Assert.True(copies[hottest] >= 3, $"hottest file has {copies[hottest]} copies");
        Assert.InRange(copies.GetValueOrDefault(new FileId("t0250", "360p")), 0, 1);

        // Among files of one size, a colder file never has more copies than a hotter one.
        foreach (var rendition in Renditions)
        {
            var ordered = forecast.Where(f => f.File.Rendition == rendition).OrderByDescending(f => f.ExpectedRequests).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.True(copies.GetValueOrDefault(ordered[i].File) <= copies.GetValueOrDefault(ordered[i - 1].File), $"{ordered[i].File} has more copies than the hotter {ordered[i - 1].File}");
            }
        }

        // With room everywhere, the copies sit on the first appliances of the title's ranking (where steering sends players first).
        var ranking = FillPlanner.Ranking("t0000", appliances).Select(a => a.ApplianceId).ToList();
        var holders = plan.ByAppliance.Where(p => p.Value.Contains(hottest)).Select(p => p.Key).ToHashSet();
        Assert.Equal(ranking.Take(copies[hottest]).ToHashSet(), holders);
    }

    [Fact]
    public void CopiesAreBoundedByTheNumberOfAppliances()
    {
        var appliances = Appliances(2, 50_000_000_000);
        var plan = Planner(copyShare: 0.0001).Plan("isp1", Day1, appliances, Forecast(20), previous: null);
        Assert.All(plan.ByAppliance.Values.SelectMany(f => f).GroupBy(f => f), g => Assert.True(g.Count() <= 2));
        Assert.Equal(2, plan.ByAppliance.Values.Count(files => files.Contains(new FileId("t0000", "1080p"))));
    }

    [Fact]
    public void SameInputs_SamePlacement_WhateverTheInputOrder()
    {
        var appliances = Appliances(4, 8_000_000_000);
        var forecast = Forecast(300);
        var a = Planner().Plan("isp1", Day1, appliances, forecast, previous: null);
        var shuffled = forecast.OrderBy(f => Rendezvous.HashTitle(f.File.ToString())).ToList();
        var reversed = Enumerable.Reverse(appliances).ToList();
        var b = Planner().Plan("isp1", Day1, reversed, shuffled, previous: null);
        foreach (var id in a.ByAppliance.Keys)
        {
            Assert.Equal(a.ByAppliance[id], b.ByAppliance[id]);
        }
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.15)]
    public void ASmallForecastChange_ReplacesLittle(double noise)
    {
        var appliances = Appliances(4, 8_000_000_000);
        var today = Forecast(600);
        var first = Planner().Plan("isp1", Day1, appliances, today, previous: null);
        var tomorrow = Jitter(today, noise);
        var before = Pairs(first);

        var withMemory = Pairs(Planner().Plan("isp1", Day1.AddDays(1), appliances, tomorrow, first)).Except(before).Count();
        var withoutMemory = Pairs(Planner().Plan("isp1", Day1.AddDays(1), appliances, tomorrow, previous: null)).Except(before).Count();
        Assert.True(withMemory <= withoutMemory, $"{withMemory} fetched with yesterday's placement, {withoutMemory} without");
        // Replacement stays proportional to the change: at most twice the relative change of the copies.
        Assert.True(withMemory <= 2 * noise * before.Count, $"{withMemory} of {before.Count} copies replaced for a ±{noise:P0} change");
    }

    [Fact]
    public void AHigherFetchCost_ReplacesFewerCopies()
    {
        var appliances = Appliances(4, 8_000_000_000);
        var today = Forecast(600);
        var tomorrow = Jitter(today, 0.15);
        var replaced = new List<int>();
        foreach (var cost in new[] { 0.0, 1.0, 5.0, 20.0, 1000.0 })
        {
            var first = Planner(fetchCost: cost).Plan("isp1", Day1, appliances, today, previous: null);
            replaced.Add(Pairs(Planner(fetchCost: cost).Plan("isp1", Day1.AddDays(1), appliances, tomorrow, first)).Except(Pairs(first)).Count());
        }

        Assert.True(replaced.Zip(replaced.Skip(1)).All(p => p.First >= p.Second), $"replaced per cost: {string.Join(", ", replaced)}");
        Assert.True(replaced[0] > replaced[^1], $"replaced per cost: {string.Join(", ", replaced)}");
    }

    /// <summary>Every file's demand moved by up to ±<paramref name="noise"/> (deterministic pseudo-random).</summary>
    private static List<FileForecast> Jitter(List<FileForecast> forecast, double noise) =>
        forecast.Select(f => f with { ExpectedRequests = f.ExpectedRequests * (1 + (noise * Math.Sin(Rendezvous.HashTitle(f.File.ToString())))) }).ToList();

    [Fact]
    public void AnUnchangedForecast_ReplacesNothing()
    {
        var appliances = Appliances(3, 6_000_000_000);
        var forecast = Forecast(500);
        var first = Planner().Plan("isp1", Day1, appliances, forecast, previous: null);
        var second = Planner().Plan("isp1", Day1.AddDays(1), appliances, forecast, first);
        Assert.Equal(Pairs(first), Pairs(second));
    }

    [Fact]
    public void ANewcomer_DisplacesAHeldFile_OnlyWhenItBeatsItByMoreThanTheFetchCost()
    {
        var appliances = new List<PlacementAppliance> { new("oca-0", 1000) };
        FileForecast File(string title, double plays) => new(new FileId(title, "720p"), 1000, plays);
        var held = Planner(fetchCost: 5).Plan("isp1", Day1, appliances, [File("old", 10)], previous: null);
        Assert.Equal([new FileId("old", "720p")], held.ByAppliance["oca-0"]);

        // 14 < 10 + 5: the held file stays; 16 > 10 + 5: the newcomer replaces it.
        var kept = Planner(fetchCost: 5).Plan("isp1", Day1.AddDays(1), appliances, [File("old", 10), File("new", 14)], held);
        Assert.Equal([new FileId("old", "720p")], kept.ByAppliance["oca-0"]);
        var replaced = Planner(fetchCost: 5).Plan("isp1", Day1.AddDays(1), appliances, [File("old", 10), File("new", 16)], held);
        Assert.Equal([new FileId("new", "720p")], replaced.ByAppliance["oca-0"]);

        // Nor does one expected below its fetch cost, though it would take free room.
        var below = Planner(fetchCost: 5).Plan("isp1", Day1.AddDays(1), appliances, [File("old", 0.5), File("rare", 4)], held);
        Assert.Equal([new FileId("old", "720p")], below.ByAppliance["oca-0"]);
    }

    /// <summary>
    /// At the default fetch cost (0.1 plays) a file forecast below one play a day is pinned in free
    /// room, and so is one forecast below the cost; a newcomer must beat a held file by more than
    /// the cost.
    /// </summary>
    [Theory]
    [InlineData(0.5, null, 0.0, "new")]
    [InlineData(0.11, null, 0.0, "new")]
    [InlineData(0.09, null, 0.0, "new")]
    [InlineData(0.35, "old", 0.3, "old")]
    [InlineData(0.45, "old", 0.3, "new")]
    public void TheDefaultFetchCost_PinsTailFilesInFreeRoom(double newPlays, string? heldTitle, double heldPlays, string? expected)
    {
        var planner = new FillPlanner(new PlannerOptions());
        var appliances = new List<PlacementAppliance> { new("oca-0", 1000) };
        FileForecast File(string title, double plays) => new(new FileId(title, "720p"), 1000, plays);
        var previous = heldTitle is null ? null : planner.Plan("isp1", Day1, appliances, [File(heldTitle, 1)], previous: null);
        List<FileForecast> forecast = heldTitle is null ? [File("new", newPlays)] : [File(heldTitle, heldPlays), File("new", newPlays)];

        var plan = planner.Plan("isp1", Day1.AddDays(1), appliances, forecast, previous);

        Assert.Equal(expected is null ? [] : [new FileId(expected, "720p")], plan.ByAppliance["oca-0"]);
    }

    /// <summary>
    /// The fetch cost orders candidates, it does not exclude them: room left after every held file
    /// and every newcomer above its cost takes newcomers below their cost, most requested first.
    /// One appliance with room for two 1000-byte files; fetch cost 5; "held" was held yesterday.
    /// </summary>
    [Theory]
    [InlineData(2.0, 1.0, 0.5, "held,a")] // held (2) first, then the better of two newcomers below the cost
    [InlineData(0.2, 3.0, 4.0, "held,b")] // a held file expected 0.2 plays still beats newcomers below 0.2 + 5
    [InlineData(0.2, 5.3, 3.0, "a,held")] // 5.3 - 5 > 0.2: the newcomer goes first, the held file keeps the rest
    [InlineData(0.2, 5.3, 6.0, "b,a")] // both newcomers beat the held file by more than the cost
    [InlineData(0.0, 0.01, 0.02, "b,a")] // the held file forecast at 0 is dropped: two rare newcomers fill the room
    public void NewcomersBelowTheFetchCost_FillRoomNothingElseWants(double heldPlays, double aPlays, double bPlays, string expected)
    {
        var appliances = new List<PlacementAppliance> { new("oca-0", 2000) };
        FileForecast File(string title, double plays) => new(new FileId(title, "720p"), 1000, plays);
        var planner = Planner(fetchCost: 5);
        var previous = planner.Plan("isp1", Day1, appliances, [File("held", 10)], previous: null);

        var plan = planner.Plan("isp1", Day1.AddDays(1), appliances, [File("held", heldPlays), File("a", aPlays), File("b", bPlays)], previous);

        Assert.Equal(expected.Split(',').Select(t => new FileId(t, "720p")), plan.ByAppliance["oca-0"]);
    }

    [Fact]
    public void RemovingAnAppliance_MovesOnlyItsFiles_WhenTheOthersHaveRoom()
    {
        // One copy per file (a high load share per copy), and room for everything on four appliances.
        var appliances = Appliances(5, 100_000_000_000);
        var forecast = Forecast(150);
        var planner = Planner(copyShare: 1.0);
        var before = planner.Plan("isp1", Day1, appliances, forecast, previous: null);
        var removed = "oca-2";
        var after = planner.Plan("isp1", Day1.AddDays(1), appliances.Where(a => a.ApplianceId != removed).ToList(), forecast, before);
        Assert.NotEmpty(before.ByAppliance[removed]);

        var placedBefore = before.ByAppliance.Values.SelectMany(f => f).ToHashSet();
        Assert.Equal(placedBefore, after.ByAppliance.Values.SelectMany(f => f).ToHashSet());
        foreach (var (id, files) in after.ByAppliance)
        {
            var gained = files.Except(before.ByAppliance[id]).ToList();
            Assert.Empty(before.ByAppliance[id].Except(files));
            Assert.All(gained, f => Assert.Contains(f, before.ByAppliance[removed]));
        }
    }

    [Fact]
    public void RemovingAnAppliance_FromAFullSite_KeepsTheSurvivorsFilesInPlace()
    {
        var appliances = Appliances(4, 6_000_000_000);
        var forecast = Forecast(400);
        var before = Planner().Plan("isp1", Day1, appliances, forecast, previous: null);
        var removed = "oca-1";
        var after = Planner().Plan("isp1", Day1.AddDays(1), appliances.Where(a => a.ApplianceId != removed).ToList(), forecast, before);

        // Files of the removed appliance compete for the survivors' room and displace colder ones;
        // survivors fetch at most as many copies as the removed appliance held, and keep the rest.
        var lost = before.ByAppliance[removed].Count;
        var fetched = 0;
        foreach (var (id, files) in after.ByAppliance)
        {
            fetched += files.Except(before.ByAppliance[id]).Count();
            Assert.True(before.ByAppliance[id].Except(files).Count() <= lost, $"{id} dropped more than the removed appliance held");
        }

        Assert.True(fetched <= lost, $"survivors fetched {fetched} copies; the removed appliance held {lost}");
        Assert.True(fetched > 0, "the removed appliance's hottest files should be re-placed");
    }

    [Fact]
    public void BadInput_IsRejectedWithAClearMessage()
    {
        var forecast = Forecast(2);
        var twice = Assert.Throws<ArgumentException>(() => Planner().Plan("isp1", Day1, [new("a", 10), new("a", 10)], forecast, null));
        Assert.Contains("listed twice", twice.Message, StringComparison.Ordinal);
        var duplicate = Assert.Throws<ArgumentException>(() => Planner().Plan("isp1", Day1, [new("a", 10)], [forecast[0], forecast[0]], null));
        Assert.Contains("forecast twice", duplicate.Message, StringComparison.Ordinal);
        var options = Assert.Throws<ArgumentException>(() => new FillPlanner(new PlannerOptions { CopyLoadShare = 0 }));
        Assert.Contains("CopyLoadShare", options.Message, StringComparison.Ordinal);
    }
}
