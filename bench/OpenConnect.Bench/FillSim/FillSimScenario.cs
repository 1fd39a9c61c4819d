using System.Diagnostics;
using System.Globalization;
using OpenConnect.Bench.Charts;
using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;

namespace OpenConnect.Bench.FillSim;

/// <summary>
/// <c>bench fill-sim</c>: share of bytes served from appliances (offload) over 30 days of a region,
/// for pull-only caching, push fill (the fill controller's forecast and planner) plus pull, the same
/// planner given each file's true expected plays (known rates: the bound of any forecast), and an
/// oracle placing with the day's realized reads; with nightly fill bytes against the window budget and churn.
/// </summary>
public sealed class FillSimScenario : IScenario
{
    private const double GoalSize = 0.10;
    private const double GoalOffload = 0.95;
    private const double GoalGapClosed = 0.5;

    public string Name => "fill-sim";

    public string Description => "30-day region simulation: offload of pull-only vs push fill (forecast + placement) vs known demand rates vs oracle, fill bytes and churn";

    public string Usage => FillSimOptions.UsageText;

    public Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var options = FillSimOptions.Parse(args);
        var clock = Stopwatch.StartNew();
        var workload = new Workload(options);
        var forecastOptions = new ForecastOptions();
        if (options.TitleMixPrior is { } titlePrior)
        {
            forecastOptions.TitleRenditionPriorPlays = titlePrior;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"region: {workload.Sites} sites, {Workload.SiteAppliances.Sum()} appliances ({string.Join('/', Workload.SiteAppliances)}); {options.Titles} titles at day 0 ({workload.CatalogBytesAtStart / 1e12:F1} TB) + {options.Releases}/day; {options.Plays} plays/day; Zipf {options.Alpha}"));
        Console.WriteLine(FormattableString.Invariant(
            $"fill: pin share {options.PinShare:P0}, window {options.WindowHours} h x {options.RateMBs} MB/s = {options.RateMBs * options.WindowHours * 3600 / 1e6:F2} TB/night/appliance; scored days {options.Warmup}..{options.Days - 1}"));

        var sims = options.Sizes.SelectMany(size => Enum.GetValues<Strategy>().Select(strategy => new FillSimulator(workload, options, strategy, size))).ToArray();
        var history = new List<PlayCount>();
        var requests = new List<RenditionCount>();
        var ladders = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal);
        for (var t = 0; t < workload.Names.Length; t++)
        {
            ladders[workload.Names[t]] = workload.Renditions(t).Select(r => workload.RenditionNames[r]).ToArray();
        }

        var published = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        for (var t = 0; t < options.Titles; t++)
        {
            published[workload.Names[t]] = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        }

        double forecastError = 0, knownRatesError = 0;
        var errorDays = 0;
        for (var day = 0; day < options.Days; day++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var date = Date(day);

            // The origin's catalog lists a release, with its publication time, once it is ingested:
            // --release-notice-days before it becomes watchable (0: at publication, so the forecast
            // learns of it the night after its first day).
            for (var t = options.Titles; t < workload.Names.Length; t++)
            {
                if (workload.ReleaseDay[t] <= day - 1 + options.ReleaseNoticeDays)
                {
                    published[workload.Names[t]] = new DateTimeOffset(Date(workload.ReleaseDay[t]), TimeOnly.MinValue, TimeSpan.Zero);
                }
            }

            var plays = workload.PlaysOf(day);
            var push = new IReadOnlyList<FileForecast>[workload.Sites];
            var known = new IReadOnlyList<FileForecast>[workload.Sites];
            var oracle = new IReadOnlyList<FileForecast>[workload.Sites];
            for (var s = 0; s < workload.Sites; s++)
            {
                var demand = DemandModel.TitleDemand($"isp{s}", date, history, [], published, forecastOptions);
                var mix = options.LearnRenditionMix ? RenditionMix.Learn($"isp{s}", date, requests, history, ladders, forecastOptions) : RenditionMix.Configured(forecastOptions);
                push[s] = Files(workload, demand, mix);
                known[s] = KnownRates(workload, day, s);
                oracle[s] = Realized(workload, plays, s);
                if (day >= options.Warmup)
                {
                    forecastError += WeightedError(push[s], oracle[s]);
                    knownRatesError += WeightedError(known[s], oracle[s]);
                    errorDays++;
                }
            }

            Parallel.ForEach(sims, new ParallelOptions { MaxDegreeOfParallelism = 2 }, sim => sim.RunDay(day, plays, sim.Strategy switch
            {
                Strategy.PushFill => push,
                Strategy.KnownRates => known,
                Strategy.Oracle => oracle,
                _ => null,
            }));

            // Tonight's steering history: today's plays per site and title; tomorrow the forecast also knows today's releases.
            foreach (var group in plays.GroupBy(p => (p.Site, p.Title)))
            {
                history.Add(new PlayCount($"isp{group.Key.Site}", workload.Names[group.Key.Title], date, group.Count()));
            }

            // What the site's appliances report with their fill progress: requests per (title, rendition) (video; audio is read by every play).
            foreach (var group in plays.GroupBy(p => (p.Site, p.Title, p.Rendition)))
            {
                requests.Add(new RenditionCount($"isp{group.Key.Site}", workload.Names[group.Key.Title], workload.RenditionNames[group.Key.Rendition], date, group.Sum(p => (long)p.Chunks)));
            }

            history.RemoveAll(p => p.Day < date.AddDays(-forecastOptions.HistoryDays));
            requests.RemoveAll(p => p.Day < date.AddDays(-forecastOptions.HistoryDays));
            Console.Error.Write(FormattableString.Invariant($"\rday {day + 1}/{options.Days} ({clock.Elapsed.TotalSeconds:F0} s)"));
        }

        Console.Error.WriteLine();
        var results = sims.Select(s => s.Result()).ToArray();
        Print(results, options);
        if (options.ChartsDirectory is { } charts)
        {
            foreach (var size in options.Sizes)
            {
                var png = PngChart.Save(OffloadChart.Of(results, options, size), Path.Combine(charts, OffloadChart.FileName(options, size)));
                Console.WriteLine($"chart: {png}");
            }
        }

        return Task.FromResult(Summarise(results, options, forecastError / Math.Max(1, errorDays), knownRatesError / Math.Max(1, errorDays), clock.Elapsed));
    }

    private static DateOnly Date(int day) => new DateOnly(2026, 1, 1).AddDays(day);

    /// <summary>The forecast as the fill controller builds it: title demand split over the title's renditions by the site's mix.</summary>
    private static List<FileForecast> Files(Workload w, Dictionary<string, double> demand, RenditionMix mix)
    {
        var files = new List<FileForecast>(demand.Count * 8);
        foreach (var (name, plays) in demand)
        {
            var title = int.Parse(name.AsSpan(1), CultureInfo.InvariantCulture);
            var renditions = w.Renditions(title).ToArray();
            foreach (var (rendition, share) in mix.Shares(name, renditions.Select(r => w.RenditionNames[r])))
            {
                var r = (byte)Array.IndexOf(w.RenditionNames, rendition);
                files.Add(new FileForecast(new FileId(name, rendition), w.FileBytes(title, r), plays * share));
            }
        }

        return files;
    }

    /// <summary>
    /// Known rates' input: each file's true expected plays for the day, in plays like push fill's
    /// forecast (the unit of the planner's fetch cost), so the two differ only in what they know.
    /// </summary>
    private static List<FileForecast> KnownRates(Workload w, int day, int site) =>
        w.ExpectedPlays(day, site).ConvertAll(f => new FileForecast(new FileId(w.Names[f.Title], w.RenditionNames[f.Rendition]), w.FileBytes(f.Title, f.Rendition), f.Plays));

    /// <summary>The oracle's input: each file's true demand on the day, in whole-file reads (bytes watched / file bytes).</summary>
    private static List<FileForecast> Realized(Workload w, Play[] plays, int site)
    {
        var watched = new Dictionary<(int, byte), long>();
        foreach (var play in plays)
        {
            if (play.Site != site)
            {
                continue;
            }

            for (var c = 0; c < play.Chunks; c++)
            {
                var key = (play.Title, play.Rendition);
                watched[key] = watched.GetValueOrDefault(key) + w.ChunkBytes(play.Title, play.Rendition, c);
                var audio = (play.Title, w.AudioRendition);
                watched[audio] = watched.GetValueOrDefault(audio) + w.ChunkBytes(play.Title, w.AudioRendition, c);
            }
        }

        return watched.Select(p =>
        {
            var bytes = w.FileBytes(p.Key.Item1, p.Key.Item2);
            return new FileForecast(new FileId(w.Names[p.Key.Item1], w.RenditionNames[p.Key.Item2]), bytes, (double)p.Value / bytes);
        }).ToList();
    }

    /// <summary>Byte-weighted relative error of the forecast against the day's true demand (both normalised to shares).</summary>
    private static double WeightedError(IReadOnlyList<FileForecast> forecast, IReadOnlyList<FileForecast> truth)
    {
        double Total(IReadOnlyList<FileForecast> x) => x.Sum(f => f.ExpectedRequests * f.Bytes);
        var ft = Total(forecast);
        var tt = Total(truth);
        if (ft == 0 || tt == 0)
        {
            return 1;
        }

        var predicted = forecast.ToDictionary(f => f.File, f => f.ExpectedRequests * f.Bytes / ft);
        var actual = truth.ToDictionary(f => f.File, f => f.ExpectedRequests * f.Bytes / tt);
        var error = 0.0;
        foreach (var key in predicted.Keys.Union(actual.Keys))
        {
            error += Math.Abs(predicted.GetValueOrDefault(key) - actual.GetValueOrDefault(key));
        }

        return error / 2;
    }

    private static void Print(StrategyResult[] results, FillSimOptions options)
    {
        foreach (var size in options.Sizes)
        {
            var table = new Table("strategy", "cache/appliance", "offload", "origin TB", "fill TB/night mean", "fill TB/night max", "budget TB", "nights over", "churn/night", "pinned TB mean", "pinned TB max", "served pinned");
            foreach (var r in results.Where(r => r.SizeFraction == size))
            {
                table.Add(StrategyName(r.Strategy), FormattableString.Invariant($"{size:P0} ({r.CacheBytesPerAppliance / 1e12:F2} TB)"), r.Offload,
                    (r.RequestedBytes - r.ApplianceBytes) / 1e12, r.MeanNightlyFillBytes / 1e12, r.MaxNightlyFillBytes / 1e12, r.NightlyBudgetBytes / 1e12, r.NightsOverBudget, r.Churn, r.MeanPinnedBytes / 1e12, r.PinnedBytes / 1e12,
                    r.ApplianceBytes == 0 ? 0 : (double)r.PinnedHitBytes / r.ApplianceBytes);
            }

            Console.Write(table);
            var misses = new Table(["strategy", .. StrategyResult.MissKinds.Select(k => $"origin TB {k}"), "of which pinned on a site peer"]);
            foreach (var r in results.Where(r => r.SizeFraction == size))
            {
                misses.Add([StrategyName(r.Strategy), .. r.MissBytes.Select(b => (object)(b / 1e12)), r.PeerPinnedMissBytes / 1e12]);
            }

            Console.Write(misses);
            Console.WriteLine("(the last column overlaps the others: origin bytes of files another appliance of the same site had pinned, which a peer parent would serve)");
            Console.WriteLine();
        }
    }

    private static int Summarise(StrategyResult[] results, FillSimOptions options, double forecastError, double knownRatesError, TimeSpan elapsed)
    {
        var sizes = options.Sizes.Select(size =>
        {
            StrategyResult Of(Strategy strategy) => results.Single(r => r.SizeFraction == size && r.Strategy == strategy);
            var pull = Of(Strategy.Pull);
            var push = Of(Strategy.PushFill);
            var known = Of(Strategy.KnownRates);
            var oracle = Of(Strategy.Oracle);
            return new
            {
                size_fraction = size,
                cache_bytes_per_appliance = pull.CacheBytesPerAppliance,
                offload_pull = Round(pull.Offload),
                offload_push_fill = Round(push.Offload),
                offload_oracle = Round(oracle.Offload),
                gap_closed = GapClosed(pull, push, oracle),
                offload_known_rates = Round(known.Offload),
                gap_closed_known_rates = GapClosed(pull, push, known),
                oracle_gap_closed_by_known_rates = GapClosed(pull, known, oracle),
                fill_bytes_per_night_mean_push_fill = (long)push.MeanNightlyFillBytes,
                fill_bytes_per_night_max_push_fill = push.MaxNightlyFillBytes,
                fill_bytes_per_night_mean_known_rates = (long)known.MeanNightlyFillBytes,
                fill_bytes_per_night_mean_oracle = (long)oracle.MeanNightlyFillBytes,
                nights_over_budget_push_fill = push.NightsOverBudget,
                churn_push_fill = Round(push.Churn),
                churn_known_rates = Round(known.Churn),
                churn_oracle = Round(oracle.Churn),
                pinned_bytes_max_push_fill = push.PinnedBytes,
                pinned_bytes_mean_push_fill = (long)push.MeanPinnedBytes,
                pinned_bytes_mean_known_rates = (long)known.MeanPinnedBytes,
                pinned_hit_bytes_push_fill = push.PinnedHitBytes,
                pinned_hit_bytes_known_rates = known.PinnedHitBytes,
                origin_bytes_pull = MissBreakdown(pull),
                origin_bytes_push_fill = MissBreakdown(push),
                origin_bytes_known_rates = MissBreakdown(known),
                origin_bytes_pinned_on_site_peer_push_fill = push.PeerPinnedMissBytes,
                origin_bytes_pinned_on_site_peer_known_rates = known.PeerPinnedMissBytes,
            };
        }).ToArray();

        var at10 = sizes.MinBy(s => Math.Abs(s.size_fraction - GoalSize))!;
        var atGoalSize = Math.Abs(at10.size_fraction - GoalSize) < 1e-9 && at10.nights_over_budget_push_fill == 0;
        var met = atGoalSize && at10.offload_push_fill >= GoalOffload && at10.gap_closed >= GoalGapClosed;
        // The reachable gap: what a forecast of demand rates can close at all is the gap from pull to
        // known rates (which tail file gets its one play on the day is chance, known to the oracle only).
        var metReachable = atGoalSize && at10.offload_push_fill >= GoalOffload && at10.gap_closed_known_rates >= GoalGapClosed;
        Console.WriteLine(FormattableString.Invariant(
            $"at {at10.size_fraction:P0}: offload pull {at10.offload_pull:F4}, push fill {at10.offload_push_fill:F4}, known rates {at10.offload_known_rates:F4}, oracle {at10.offload_oracle:F4}; gap closed {at10.gap_closed:F3} (of pull-known rates: {at10.gap_closed_known_rates:F3}; known rates close {at10.oracle_gap_closed_by_known_rates:F3})"));
        Console.WriteLine(FormattableString.Invariant(
            $"byte-share error against the day's realized reads: forecast {forecastError:F3}, known rates {knownRatesError:F3}"));
        Console.WriteLine($"goal (push fill >= {GoalOffload:P0} offload at 10%, no night over budget, closes >= half the pull-oracle gap): {(met ? "met" : "NOT met")}");
        Console.WriteLine($"goal against the reachable gap (>= half the pull-known rates gap): {(metReachable ? "met" : "NOT met")}");
        var summary = new
        {
            scenario = "fill-sim",
            days = options.Days,
            warmup_days = options.Warmup,
            titles = options.Titles,
            releases_per_day = options.Releases,
            plays_per_day = options.Plays,
            zipf_alpha = options.Alpha,
            pin_share = options.PinShare,
            release_notice_days = options.ReleaseNoticeDays,
            rendition_mix = options.LearnRenditionMix ? "learned" : "configured",
            title_rendition_prior_plays = options.TitleMixPrior ?? new ForecastOptions().TitleRenditionPriorPlays,
            seed = options.Seed,
            nightly_budget_bytes = (long)(options.RateMBs * 1e6 * options.WindowHours * 3600),
            catalog_bytes = results[0].CacheBytesPerAppliance == 0 ? 0 : (long)(results[0].CacheBytesPerAppliance / results[0].SizeFraction),
            forecast_error = Round(forecastError),
            known_rates_error = Round(knownRatesError),
            offload_pull = at10.offload_pull,
            offload_push_fill = at10.offload_push_fill,
            offload_oracle = at10.offload_oracle,
            gap_closed = at10.gap_closed,
            goal_met = met,
            goal_met_reachable = metReachable,
            nights_over_budget_push_fill = at10.nights_over_budget_push_fill,
            ratio_to_oracle_pull = Round(at10.offload_pull / at10.offload_oracle),
            ratio_to_oracle_push_fill = Round(at10.offload_push_fill / at10.offload_oracle),
            ratio_to_oracle_known_rates = Round(at10.offload_known_rates / at10.offload_oracle),
            offload_known_rates = at10.offload_known_rates,
            gap_closed_known_rates = at10.gap_closed_known_rates,
            oracle_gap_closed_by_known_rates = at10.oracle_gap_closed_by_known_rates,
            sizes,
            seconds = Math.Round(elapsed.TotalSeconds, 1),
        };
        Summary.WriteJsonLine(summary);
        if (options.ChartsDirectory is { } charts)
        {
            Directory.CreateDirectory(charts);
            File.WriteAllText(Path.Combine(charts, Path.ChangeExtension(OffloadChart.FileName(options, GoalSize), ".json")), System.Text.Json.JsonSerializer.Serialize(summary) + "\n");
        }

        return 0;
    }

    /// <summary>Share of the gap from pull to <paramref name="bound"/> that <paramref name="strategy"/> closes (null when the bound is not above pull).</summary>
    private static double? GapClosed(StrategyResult pull, StrategyResult strategy, StrategyResult bound)
    {
        var gap = bound.Offload - pull.Offload;
        return gap > 0 ? Round((strategy.Offload - pull.Offload) / gap) : null;
    }

    private static Dictionary<string, long> MissBreakdown(StrategyResult result) =>
        StrategyResult.MissKinds.Zip(result.MissBytes).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

    private static string StrategyName(Strategy strategy) => strategy switch
    {
        Strategy.Pull => "pull",
        Strategy.PushFill => "push_fill",
        Strategy.KnownRates => "known_rates",
        Strategy.Oracle => "oracle",
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null),
    };

    private static double Round(double x) => Math.Round(x, 5);
}
