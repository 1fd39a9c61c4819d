using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OpenConnect.Bench.Charts;

namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// <c>bench cache-sim</c>: how much WAN traffic (byte miss ratio) and SSD wear the appliance's eviction
/// policy saves against LRU and FIFO, and how far it stays from Belady, on VOD traces.
/// </summary>
public sealed class CacheSimScenario : IScenario
{
    private const double GoalReductionVsLru = 0.10;
    private const double GoalRatioToBelady = 1.15;
    private const string GoalPolicy = "video";
    private const double SummarySize = 0.05;

    public string Name => "cache-sim";

    public string Description => "eviction policies (LRU, FIFO, S3-FIFO, video-aware, Belady) replayed on VOD traces: byte miss ratio, SSD writes, policy cost";

    public string Usage => CacheSimOptions.UsageText;

    public Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var options = CacheSimOptions.Parse(args);
        var problem = TraceSelfCheck.Run();
        if (problem is not null)
        {
            Console.Error.WriteLine($"bench cache-sim: self-check failed: {problem}");
            return Task.FromResult(70);
        }

        Console.WriteLine("self-check: generator deterministic; text and oracleGeneral round trips identical");
        var s3 = options.S3Fifo;
        var video = options.Video;
        Console.WriteLine(FormattableString.Invariant(
            $"s3fifo: small={s3.SmallFraction} ghost={s3.GhostFraction} cap={s3.FrequencyCap} promote={s3.PromoteThreshold} maxobj={s3.MaxSmallObjectFraction}"));
        Console.WriteLine(FormattableString.Invariant(
            $"video: halflife={video.HalfLife} sample={video.SampleSize} admit={video.AdmitRatio} unproven={video.UnprovenAdmitRatio} small={video.SmallFraction} ghost={video.GhostFraction} title={On(video.UseTitle)} position={On(video.UsePosition)} rendition={On(video.UseRendition)}"));

        var traceFigures = new List<object>();
        var allMet = true;
        foreach (var trace in LoadTraces(options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var results = RunAll(trace, options, cancellationToken);
            var ratios = Ratios.Of(results);
            PrintTrace(trace, results, ratios, clock.Elapsed);
            if (options.ChartsDirectory is { } dir)
            {
                var png = PngChart.Save(MissRatioChart.Of(trace, results), Path.Combine(dir, MissRatioChart.FileName(trace.Name)));
                Console.WriteLine($"chart: {png}");
            }

            var goal = Goal(results, ratios);
            allMet &= goal?.Met ?? false;
            traceFigures.Add(new
            {
                name = trace.Name,
                requests = trace.Count,
                unique_objects = trace.UniqueObjects,
                unique_bytes = trace.UniqueBytes,
                requested_bytes = trace.TotalBytes,
                has_hints = trace.Hints is not null,
                compulsory_byte_miss_ratio = Round((double)trace.UniqueBytes / trace.TotalBytes),
                one_hit_byte_share = Round((double)trace.OneHitBytes / trace.TotalBytes),
                results = Array.ConvertAll(results, r => new
                {
                    size_fraction = r.SizeFraction,
                    cache_bytes = r.CacheBytes,
                    policy = r.Policy,
                    object_hit_ratio = Round(r.ObjectHitRatio),
                    byte_hit_ratio = Round(r.ByteHitRatio),
                    byte_miss_ratio = Round(r.ByteMissRatio),
                    ratio_to_belady = Round(ratios.ToBelady(r)),
                    below_lru = Round(ratios.BelowLru(r)),
                    ssd_bytes_written = r.SsdBytesWritten,
                    ssd_written_per_requested_byte = Round((double)r.SsdBytesWritten / r.RequestedBytes),
                    ssd_written_vs_s3fifo = Round(ratios.SsdVsS3Fifo(r)),
                    policy_ns_per_request = Math.Round(r.PolicyNanosPerRequest, 1),
                }),
                at_5pct = goal is not { } g ? null : new
                {
                    size_fraction = g.Size,
                    policy = g.Policy,
                    byte_miss_ratio = Round(g.ByteMissRatio),
                    ratio_to_belady = Round(g.RatioToBelady),
                    below_lru = Round(g.BelowLru),
                    ssd_written_vs_s3fifo = Round(g.SsdVsS3Fifo),
                    goal_met = g.Met,
                },
            });
        }

        Console.WriteLine(FormattableString.Invariant(
            $"goal (video at the 5% size, every trace: byte miss <= {GoalRatioToBelady}x Belady, >= {GoalReductionVsLru:P0} below LRU, SSD writes <= S3-FIFO's): {(allMet ? "met" : "NOT met")}"));
        var summary = new
        {
            scenario = Name,
            s3fifo = new
            {
                small_fraction = s3.SmallFraction,
                ghost_fraction = s3.GhostFraction,
                frequency_cap = s3.FrequencyCap,
                promote_threshold = s3.PromoteThreshold,
                max_small_object_fraction = s3.MaxSmallObjectFraction,
            },
            video = new
            {
                half_life = video.HalfLife,
                sample_size = video.SampleSize,
                admit_ratio = video.AdmitRatio,
                unproven_admit_ratio = video.UnprovenAdmitRatio,
                small_fraction = video.SmallFraction,
                ghost_fraction = video.GhostFraction,
                use_title = video.UseTitle,
                use_position = video.UsePosition,
                use_rendition = video.UseRendition,
            },
            goal = new
            {
                policy = GoalPolicy,
                ratio_to_belady_at_5pct = GoalRatioToBelady,
                below_lru_at_5pct = GoalReductionVsLru,
                ssd_written_vs_s3fifo_at_5pct = 1.0,
                met = allMet,
            },
            traces = traceFigures,
        };
        if (options.ChartsDirectory is { } charts)
        {
            Directory.CreateDirectory(charts);
            File.WriteAllText(Path.Combine(charts, "cache-sim.json"), JsonSerializer.Serialize(summary) + "\n");
        }

        Summary.WriteJsonLine(summary);
        return Task.FromResult(0);
    }

    private static string On(bool on) => on ? "on" : "off";

    private static IEnumerable<Trace> LoadTraces(CacheSimOptions o)
    {
        if (o.Trace.StartsWith("oracle:", StringComparison.Ordinal))
        {
            yield return TraceFiles.ReadOracleGeneral(o.Trace["oracle:".Length..], o.Requests ?? int.MaxValue);
            yield break;
        }

        if (o.Trace.StartsWith("text:", StringComparison.Ordinal))
        {
            yield return TraceFiles.ReadText(o.Trace["text:".Length..], o.Requests ?? int.MaxValue);
            yield break;
        }

        foreach (var alpha in o.Alphas)
        {
            var w = new VodWorkload { Seed = o.Seed, Alpha = alpha, Requests = o.Requests ?? new VodWorkload().Requests };
            var clock = Stopwatch.StartNew();
            var trace = VodTraceGenerator.Generate(w, FormattableString.Invariant($"vod-zipf{alpha}-seed{o.Seed}"));
            Console.WriteLine(FormattableString.Invariant($"generated {trace.Name}: {trace.Count:N0} requests in {clock.Elapsed.TotalSeconds:F1} s"));
            yield return trace;
        }
    }

    private static SimResult[] RunAll(Trace trace, CacheSimOptions o, CancellationToken cancellationToken)
    {
        _ = trace.NextUse; // computed once before the replays share it
        var jobs = new List<(double Size, string Policy)>();
        foreach (var size in o.Sizes)
        {
            foreach (var policy in o.Policies)
            {
                jobs.Add((size, policy));
            }
        }

        var results = new SimResult[jobs.Count];
        Parallel.For(
            0,
            jobs.Count,
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            i => results[i] = Simulator.Run(trace, jobs[i].Policy, jobs[i].Size, o.S3Fifo, o.Video));
        return results;
    }

    private static void PrintTrace(Trace trace, SimResult[] results, Ratios ratios, TimeSpan elapsed)
    {
        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant(
            $"== {trace.Name}: {trace.Count:N0} requests, {trace.UniqueObjects:N0} objects, unique {Gb(trace.UniqueBytes):F1} GB, requested {Gb(trace.TotalBytes):F1} GB, compulsory byte miss {(double)trace.UniqueBytes / trace.TotalBytes:F4} (one-hit objects {(double)trace.OneHitBytes / trace.TotalBytes:F4}) (replayed in {elapsed.TotalSeconds:F1} s)"));
        var table = new Table("size", "cache GB", "policy", "obj hit", "byte hit", "byte miss", "x Belady", "below LRU", "SSD written GB", "SSD written / requested", "ns/req");
        foreach (var r in results)
        {
            table.Add(r.SizeFraction.ToString("P0", CultureInfo.InvariantCulture), Gb(r.CacheBytes), r.Policy, r.ObjectHitRatio, r.ByteHitRatio, r.ByteMissRatio,
                Cell(ratios.ToBelady(r)), Cell(ratios.BelowLru(r)), Gb(r.SsdBytesWritten), (double)r.SsdBytesWritten / r.RequestedBytes, Math.Round(r.PolicyNanosPerRequest));
        }

        Console.Write(table);
        if (Goal(results, ratios) is not { } g)
        {
            return;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"at {g.Size:P0}: byte miss {g.Policy} {g.ByteMissRatio:F4} = {g.RatioToBelady:F3}x Belady, {g.BelowLru:P1} below LRU, SSD writes {g.SsdVsS3Fifo:F2}x S3-FIFO's; goal {(g.Met ? "met" : "not met")}"));
    }

    private static string Cell(double x) => double.IsFinite(x) ? x.ToString("F3", CultureInfo.InvariantCulture) : "-";

    /// <summary>The goal policy at the size nearest 5%; null when the run lacks it or a policy it is compared with (see --policies).</summary>
    private static GoalCheck? Goal(SimResult[] results, Ratios ratios)
    {
        var size = results[0].SizeFraction;
        foreach (var r in results)
        {
            if (Math.Abs(r.SizeFraction - SummarySize) < Math.Abs(size - SummarySize))
            {
                size = r.SizeFraction;
            }
        }

        var goal = Array.Find(results, r => r.SizeFraction == size && r.Policy == GoalPolicy);
        if (goal is null)
        {
            return null;
        }

        var toBelady = ratios.ToBelady(goal);
        var belowLru = ratios.BelowLru(goal);
        var ssd = ratios.SsdVsS3Fifo(goal);
        if (!double.IsFinite(toBelady) || !double.IsFinite(belowLru) || !double.IsFinite(ssd))
        {
            return null;
        }

        var met = toBelady <= GoalRatioToBelady && belowLru >= GoalReductionVsLru && ssd <= 1.0;
        return new GoalCheck(size, GoalPolicy, goal.ByteMissRatio, toBelady, belowLru, ssd, met);
    }

    private static double Gb(long bytes) => bytes / 1e9;

    /// <summary>Five decimals for the JSON line; null for a figure the run did not produce (JSON has no NaN).</summary>
    private static double? Round(double x) => double.IsFinite(x) ? Math.Round(x, 5) : null;

    private readonly record struct GoalCheck(double Size, string Policy, double ByteMissRatio, double RatioToBelady, double BelowLru, double SsdVsS3Fifo, bool Met);
}
