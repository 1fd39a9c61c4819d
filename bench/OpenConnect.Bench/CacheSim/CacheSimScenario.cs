using System.Diagnostics;
using System.Globalization;

namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// <c>bench cache-sim</c>: how much WAN traffic (byte miss ratio) and SSD wear the appliance's eviction
/// policy saves against LRU and FIFO, and how far it stays from Belady, on VOD traces.
/// </summary>
public sealed class CacheSimScenario : IScenario
{
    private const double GoalReductionVsLru = 0.10;
    private const double SummarySize = 0.05;

    public string Name => "cache-sim";

    public string Description => "eviction policies (LRU, FIFO, S3-FIFO, Belady) replayed on VOD traces: byte miss ratio, SSD writes";

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
        Console.WriteLine(FormattableString.Invariant(
            $"s3fifo: small={s3.SmallFraction} ghost={s3.GhostFraction} cap={s3.FrequencyCap} promote={s3.PromoteThreshold} maxobj={s3.MaxSmallObjectFraction}"));

        var traceFigures = new List<object>();
        var allMet = true;
        foreach (var trace in LoadTraces(options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var results = RunAll(trace, options, cancellationToken);
            PrintTrace(trace, results, clock.Elapsed);
            var summary = Summarise(results);
            allMet &= summary?.GoalMet ?? false;
            traceFigures.Add(new
            {
                name = trace.Name,
                requests = trace.Count,
                unique_objects = trace.UniqueObjects,
                unique_bytes = trace.UniqueBytes,
                requested_bytes = trace.TotalBytes,
                results = Array.ConvertAll(results, r => new
                {
                    size_fraction = r.SizeFraction,
                    cache_bytes = r.CacheBytes,
                    policy = r.Policy,
                    object_hit_ratio = Round(r.ObjectHitRatio),
                    byte_hit_ratio = Round(r.ByteHitRatio),
                    byte_miss_ratio = Round(r.ByteMissRatio),
                    ssd_bytes_written = r.SsdBytesWritten,
                }),
                at_5pct = summary is not { } s ? null : new
                {
                    size_fraction = s.Size,
                    lru_byte_miss_ratio = Round(s.Lru),
                    fifo_byte_miss_ratio = Round(s.Fifo),
                    s3fifo_byte_miss_ratio = Round(s.S3Fifo),
                    belady_byte_miss_ratio = Round(s.Belady),
                    byte_miss_ratio_reduction_vs_lru = Round(s.ReductionVsLru),
                    gap_to_belady = Round(s.S3Fifo - s.Belady),
                    gap_to_belady_relative = Round((s.S3Fifo - s.Belady) / s.Belady),
                    lru_gap_closed = Round((s.Lru - s.S3Fifo) / (s.Lru - s.Belady)),
                    ssd_bytes_written_vs_lru = Round((double)s.S3FifoSsd / s.LruSsd),
                    goal_met = s.GoalMet,
                },
            });
        }

        Console.WriteLine($"goal (byte miss ratio >= {GoalReductionVsLru:P0} below LRU at the 5% size, every trace): {(allMet ? "met" : "NOT met")}");
        Summary.WriteJsonLine(new
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
            goal = new { byte_miss_ratio_reduction_vs_lru_at_5pct = GoalReductionVsLru, met = allMet },
            traces = traceFigures,
        });
        return Task.FromResult(0);
    }

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
            i => results[i] = Simulator.Run(trace, jobs[i].Policy, jobs[i].Size, o.S3Fifo));
        return results;
    }

    private static void PrintTrace(Trace trace, SimResult[] results, TimeSpan elapsed)
    {
        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant(
            $"== {trace.Name}: {trace.Count:N0} requests, {trace.UniqueObjects:N0} objects, unique {Gb(trace.UniqueBytes):F1} GB, requested {Gb(trace.TotalBytes):F1} GB (replayed in {elapsed.TotalSeconds:F1} s)"));
        var table = new Table("size", "cache GB", "policy", "obj hit", "byte hit", "byte miss", "SSD written GB", "SSD written / requested");
        foreach (var r in results)
        {
            table.Add(r.SizeFraction.ToString("P0", CultureInfo.InvariantCulture), Gb(r.CacheBytes), r.Policy, r.ObjectHitRatio, r.ByteHitRatio, r.ByteMissRatio,
                Gb(r.SsdBytesWritten), (double)r.SsdBytesWritten / r.RequestedBytes);
        }

        Console.Write(table);
        if (Summarise(results) is not { } s)
        {
            return;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"at {s.Size:P0}: byte miss LRU {s.Lru:F4}, S3-FIFO {s.S3Fifo:F4} ({s.ReductionVsLru:P1} lower), Belady {s.Belady:F4}; goal {(s.GoalMet ? "met" : "not met")}"));
    }

    /// <summary>Null when the run lacks a policy the summary compares (see --policies).</summary>
    private static Summary5? Summarise(SimResult[] results)
    {
        // The size nearest 5% (exactly 5% with the default sizes).
        var size = results[0].SizeFraction;
        foreach (var r in results)
        {
            if (Math.Abs(r.SizeFraction - SummarySize) < Math.Abs(size - SummarySize))
            {
                size = r.SizeFraction;
            }
        }

        SimResult? Pick(string policy)
        {
            foreach (var r in results)
            {
                if (r.SizeFraction == size && r.Policy == policy)
                {
                    return r;
                }
            }

            return null;
        }

        if (Pick("lru") is not { } lru || Pick("s3fifo") is not { } s3)
        {
            return null;
        }

        var reduction = (lru.ByteMissRatio - s3.ByteMissRatio) / lru.ByteMissRatio;
        return new Summary5(size, lru.ByteMissRatio, Pick("fifo")?.ByteMissRatio ?? double.NaN, s3.ByteMissRatio,
            Pick(Simulator.Belady)?.ByteMissRatio ?? double.NaN, reduction, lru.SsdBytesWritten, s3.SsdBytesWritten, reduction >= GoalReductionVsLru);
    }

    private static double Gb(long bytes) => bytes / 1e9;

    /// <summary>Five decimals for the JSON line; null for a figure the run did not produce (JSON has no NaN).</summary>
    private static double? Round(double x) => double.IsFinite(x) ? Math.Round(x, 5) : null;

    private readonly record struct Summary5(double Size, double Lru, double Fifo, double S3Fifo, double Belady, double ReductionVsLru, long LruSsd, long S3FifoSsd, bool GoalMet);
}
