using System.Diagnostics;
using System.Globalization;
using System.Net;
using OpenConnect.Contracts.Placement;
using OpenConnect.Contracts.Security;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Prefixes;
using OpenConnect.Steering.Selection;
using OpenConnect.Steering.Signing;

namespace OpenConnect.Bench.Steering;

/// <summary>
/// <c>bench steering</c>: steering decisions per second on one core and their latency, at fleet
/// scale: 10,000 appliances in 1,000 sites, 100,000 titles held by Zipf popularity, a million-prefix
/// table (IPv4 and IPv6) and random clients. A decision is prefix lookup + ranking + token. Also
/// reported: what one token proof costs (<see cref="SigningMicro"/>), steering's resident memory
/// through the run, and how load-aware ranking spreads one site's sessions over its appliances.
/// </summary>
public sealed class SteeringScenario : IScenario
{
    private const double GoalDecisionsPerSecond = 100_000;
    private const double GoalP99Ms = 0.5;

    /// <summary>The mode the goal is judged on: steering's default configuration.</summary>
    private const int HeadlineMode = 2;

    public string Name => "steering";

    public string Description => "steering decisions/s on one core and p50/p99 latency (10k appliances, 1k sites, 100k titles, 1M prefixes)";

    public string Usage => """
        bench steering [--appliances N] [--sites N] [--titles N] [--prefixes N] [--held N] [--decisions N] [--seed N] [--cpu N] [--crypto N]
          --appliances  registered appliances (default 10000), spread evenly over the sites
          --sites       sites, each with its own prefixes (default 1000)
          --titles      catalogue size (default 100000); plays and inventories follow Zipf(0.8)
          --prefixes    prefix-table size (default 1000000; 70% IPv4 /16-/24, 30% IPv6 /32-/48)
          --held        titles each appliance holds (default 300)
          --decisions   timed decisions per mode (default 200000)
          --seed        random seed (default 42)
          --cpu         CPU to pin the process to (default 1; -1 leaves affinity alone)
          --crypto      operations per primitive in the signing micro-measurement (default 2000; 0 skips it)
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var o = Options.Parse(args);
        if (o.Cpu >= 0 && OperatingSystem.IsLinux())
        {
            Process.GetCurrentProcess().ProcessorAffinity = (nint)(1L << o.Cpu);
        }

        var random = new Random(o.Seed);
        var build = Stopwatch.StartNew();
        var sites = Enumerable.Range(0, o.Sites).Select(i => $"site-{i:D4}").ToArray();
        var (table, samples) = BuildPrefixes(o, sites, random);
        var prefixSeconds = build.Elapsed.TotalSeconds;

        var zipf = new Zipf(o.Titles, 0.8, random);
        var titles = Enumerable.Range(0, o.Titles).Select(i => $"title-{i:D6}").ToArray();
        var registry = new ApplianceRegistry();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < o.Appliances; i++)
        {
            var id = $"oca-{i:D5}";
            registry.Register(new ApplianceIdentity
            {
                ApplianceId = id,
                Site = sites[i % o.Sites],
                PublicUrl = $"https://{id}.isp{i % o.Sites}.example:8400",
                CapacityBytesPerSecond = 12_500_000_000,
                MaxConnections = 100_000,
            }, "i", now);
            var held = new HashSet<string>(StringComparer.Ordinal);
            while (held.Count < o.Held)
            {
                held.Add(titles[zipf.Next()]);
            }

            registry.Heartbeat(new HeartbeatRequest
            {
                ApplianceId = id,
                InstanceId = "i",
                Load = new ApplianceLoad { BytesPerSecondOut = random.NextInt64(0, 12_000_000_000), Connections = 100 },
                Health = new ApplianceHealth { CacheHealthy = true },
                Inventory = new InventoryUpdate { Full = true, Version = 1, ZstdEntries = InventoryCodec.Encode(held, []) },
            }, now);
        }

        var registrySeconds = build.Elapsed.TotalSeconds - prefixSeconds;
        var residentMb = new List<(string When, double Mb)> { ("after setup", ResidentMb()) };
        Console.WriteLine(FormattableString.Invariant(
            $"setup: {table.Count:N0} prefixes in {prefixSeconds:F1} s; {o.Appliances:N0} appliances in {o.Sites:N0} sites holding {o.Held} titles each in {registrySeconds:F1} s; pinned to CPU {o.Cpu}"));

        // Requests: Zipf titles, clients inside random prefixes (90%) or anywhere (10%: default region).
        // The warm-up pass (JIT, token cache) and the timed pass use different requests, so a cached
        // token is only reused where the same (title, client network) genuinely comes back.
        var warmup = Requests(o.Decisions / 2, titles, zipf, samples, random);
        var requests = Requests(o.Decisions, titles, zipf, samples, random);

        var options = new SteeringOptions();
        var clock = new FixedClock(now);
        var key = Ed25519SigningKey.Generate();
        var modes = new (string Name, Func<(string, IPAddress), int> Run, int DecisionsPerCall)[]
        {
            ("lookup + rank (no token)", RankOnly(registry, table, options, now), 1),
            ("decision, v1 Ed25519 token per decision (BouncyCastle)", Decide(registry, table, new TokenIssuer(key, options.TokenLifetime, true, cache: false, format: PlaybackTokenFormat.Ed25519), clock, options), 1),
            ("decision, v2 MAC token per decision, bound /24 (default)", Decide(registry, table, new TokenIssuer(key, options.TokenLifetime, true, options.CacheTokens), clock, options), 1),
            ("decision, v2 MAC, bound /24, token cache", Decide(registry, table, new TokenIssuer(key, options.TokenLifetime, true, cache: true), clock, options), 1),
            ("decision, v2 MAC, unbound token, token cache", Decide(registry, table, new TokenIssuer(key, options.TokenLifetime, false, cache: true), clock, options), 1),
            ("session: play + playlist + 6 polls (default)", Session(registry, table, new TokenIssuer(key, options.TokenLifetime, true, cache: options.CacheTokens), clock, options), 8),
        };

        var results = new List<(string Name, double PerSecond, double PerCpuSecond, double P50, double P99, double Pathways, double BytesEach, int Collections)>();
        foreach (var (name, run, perCall) in modes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var request in warmup)
            {
                run(request);
            }

            var latencies = new long[requests.Length];
            long pathways = 0;
            var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var collectionsBefore = GC.CollectionCount(0);
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < requests.Length; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                pathways += run(requests[i]);
                latencies[i] = Stopwatch.GetTimestamp() - t0;
            }

            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            var collections = GC.CollectionCount(0) - collectionsBefore;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
            Array.Sort(latencies);
            var decisions = (double)requests.Length * perCall;
            // Latency is per call: per decision for the single modes, per session (8 decisions) for the mix.
            results.Add((name, decisions / elapsed, decisions / cpu, Ms(latencies[latencies.Length / 2]) / perCall, Ms(latencies[(int)(latencies.Length * 0.99)]) / perCall, (double)pathways / decisions, allocated / decisions, collections));
            residentMb.Add((name, ResidentMb()));
        }

        // On a shared machine the wall clock includes time the pinned thread waited for the core;
        // process CPU time counts only the time it ran (plus GC and runtime threads: conservative).
        var report = new Table("mode", "decisions/s (wall)", "decisions/CPU-s", "p50 ms", "p99 ms", "pathways/decision", "bytes allocated/decision", "gen0 GCs");
        foreach (var r in results)
        {
            report.Add(r.Name, r.PerSecond, r.PerCpuSecond, r.P50, r.P99, r.Pathways, Math.Round(r.BytesEach), r.Collections);
        }

        Console.Write(report);
        // Where ranking's time goes: clients inside a site's prefixes rank that site's appliances;
        // clients in no prefix (the default region, no appliances) scan up to 256 remote holders.
        var rank = RankOnly(registry, table, options, now);
        var inSite = requests.Where(r => table.Lookup(r.Client) is not null).ToArray();
        var defaultRegion = requests.Where(r => table.Lookup(r.Client) is null).ToArray();
        var inSiteMicroseconds = CpuMicrosecondsEach(inSite, rank);
        var defaultRegionMicroseconds = CpuMicrosecondsEach(defaultRegion, rank);
        Console.WriteLine(FormattableString.Invariant(
            $"ranking profile: {inSiteMicroseconds:F2} µs/decision for clients in a site ({inSite.Length:N0}), {defaultRegionMicroseconds:F2} µs for default-region clients ({defaultRegion.Length:N0})"));
        var profile = DecisionProfile.Measure(registry, table, new TokenIssuer(key, options.TokenLifetime, true, options.CacheTokens), clock, options, requests);
        Console.Write(DecisionProfile.Report(profile));
        var crypto = o.Crypto > 0 ? SigningMicro.Measure(o.Crypto) : [];
        if (crypto.Count > 0)
        {
            var cryptoTable = new Table("token proof primitive", "operations/CPU-s", "µs each");
            foreach (var figure in crypto)
            {
                cryptoTable.Add(figure.Name, figure.PerCpuSecond, figure.MicrosecondsEach);
            }

            Console.Write(cryptoTable);
        }

        var spread = SiteSpread.Measure(registry, options, titles, zipf, sites[0], now);
        Console.Write(SiteSpread.Report(spread));
        residentMb.Add(("end", ResidentMb()));
        var memory = new Table("steering resident memory", "MiB");
        foreach (var (when, mb) in residentMb)
        {
            memory.Add(when, mb);
        }

        Console.Write(memory);
        var headline = results[HeadlineMode];
        var met = headline.PerCpuSecond >= GoalDecisionsPerSecond && headline.P99 < GoalP99Ms;
        Console.WriteLine(FormattableString.Invariant(
            $"goal (default configuration: >= {GoalDecisionsPerSecond:N0} decisions per CPU-second, p99 < {GoalP99Ms} ms): {(met ? "met" : "NOT met")}; load average {LoadAverage():F1}"));
        Summary.WriteJsonLine(new
        {
            scenario = Name,
            appliances = o.Appliances,
            sites = o.Sites,
            titles = o.Titles,
            prefixes = table.Count,
            decisions = o.Decisions,
            decisions_per_s = Math.Round(headline.PerCpuSecond),
            decisions_per_wall_s = Math.Round(headline.PerSecond),
            p50_ms = Math.Round(headline.P50, 4),
            p99_ms = Math.Round(headline.P99, 4),
            rank_only_decisions_per_s = Math.Round(results[0].PerCpuSecond),
            rank_only_p99_ms = Math.Round(results[0].P99, 4),
            rank_in_site_us = Math.Round(inSiteMicroseconds, 2),
            rank_default_region_us = Math.Round(defaultRegionMicroseconds, 2),
            decision_profile_us = profile.ToDictionary(p => p.Name, p => Math.Round(p.StepMicroseconds, 2)),
            bytes_allocated_per_decision = Math.Round(headline.BytesEach),
            rank_only_bytes_allocated_per_decision = Math.Round(results[0].BytesEach),
            cached_decisions_per_s = Math.Round(results[3].PerCpuSecond),
            cached_p99_ms = Math.Round(results[3].P99, 4),
            v1_ed25519_decisions_per_s = Math.Round(results[1].PerCpuSecond),
            v1_ed25519_p99_ms = Math.Round(results[1].P99, 4),
            unbound_cached_decisions_per_s = Math.Round(results[4].PerCpuSecond),
            unbound_cached_p99_ms = Math.Round(results[4].P99, 4),
            session_mix_decisions_per_s = Math.Round(results[5].PerCpuSecond),
            session_mix_p99_ms_per_decision = Math.Round(results[5].P99, 4),
            crypto_ops_per_cpu_s = crypto.ToDictionary(f => f.Name, f => Math.Round(f.PerCpuSecond)),
            rss_start_mb = Math.Round(residentMb[0].Mb, 1),
            rss_end_mb = Math.Round(residentMb[^1].Mb, 1),
            rss_max_mb = Math.Round(residentMb.Max(r => r.Mb), 1),
            site_spread = spread.Select(s => new { appliance = s.Id, load = Math.Round(s.Load, 2), share = Math.Round(s.Share, 4), share_without_shedding = Math.Round(s.ShareWithoutShedding, 4) }),
            load_average = Math.Round(LoadAverage(), 1),
            goal_met = met,
        });
        return Task.FromResult(0);
    }

    /// <summary>
    /// One playback session: <c>/play</c> and the playlist (signed; the second reuses the cached
    /// token) and six steering-manifest polls (a minute at TTL 10 s; no token).
    /// </summary>
    private static Func<(string, IPAddress), int> Session(ApplianceRegistry registry, PrefixTable table, TokenIssuer tokens, TimeProvider clock, SteeringOptions options)
    {
        var decisions = new SteeringDecisions(registry, () => table, tokens, clock, options);
        return request =>
        {
            var n = decisions.Decide(request.Item1, request.Item2).Pathways.Count;
            n += decisions.Decide(request.Item1, request.Item2).Pathways.Count;
            for (var i = 0; i < 6; i++)
            {
                n += decisions.Decide(request.Item1, request.Item2, sign: false).Pathways.Count;
            }

            return n;
        };
    }

    /// <summary>Process CPU time per call of <paramref name="run"/> over <paramref name="requests"/>, in microseconds.</summary>
    private static double CpuMicrosecondsEach((string Title, IPAddress Client)[] requests, Func<(string, IPAddress), int> run)
    {
        if (requests.Length == 0)
        {
            return 0;
        }

        var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        foreach (var request in requests)
        {
            run(request);
        }

        process.Refresh();
        return (process.TotalProcessorTime - before).TotalMilliseconds * 1000 / requests.Length;
    }

    /// <summary>This process's resident set (VmRSS), in MiB.</summary>
    private static double ResidentMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Environment.WorkingSet / (1024.0 * 1024.0);
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static Func<(string, IPAddress), int> RankOnly(ApplianceRegistry registry, PrefixTable table, SteeringOptions options, DateTimeOffset now)
    {
        var policy = new SelectionPolicy(options.HeartbeatExpiry, options.MaxLoadFraction, options.Pathways, options.LoadSheddingStart);
        var chosen = new ApplianceView?[PathwaySelector.MaxPathways];
        return request =>
        {
            var (title, client) = request;
            var site = table.Lookup(client) ?? options.DefaultSite;
            var holders = registry.Holders(title, out var titleId);
            return PathwaySelector.Rank(title, Rendezvous.HashTitle(title), titleId, site, registry.Members(site), holders, now, policy, chosen) + 1;
        };
    }

    private static Func<(string, IPAddress), int> Decide(ApplianceRegistry registry, PrefixTable table, TokenIssuer tokens, TimeProvider clock, SteeringOptions options)
    {
        var decisions = new SteeringDecisions(registry, () => table, tokens, clock, options);
        return request => decisions.Decide(request.Item1, request.Item2).Pathways.Count;
    }

    private static (PrefixTable Table, IPAddress[] Samples) BuildPrefixes(Options o, string[] sites, Random random)
    {
        var builder = new PrefixTable.Builder();
        var samples = new List<IPAddress>();
        var v4 = (int)(o.Prefixes * 0.7);
        var added = 0;
        Span<byte> bytes = stackalloc byte[16];
        while (added < o.Prefixes)
        {
            var site = sites[random.Next(sites.Length)];
            if (added < v4)
            {
                var bits = random.NextDouble() < 0.6 ? 24 : random.Next(16, 24);
                var network = (uint)random.NextInt64(0x0100_0000, 0xE000_0000) & (uint.MaxValue << (32 - bits));
                if (builder.AddV4(site, network, bits))
                {
                    added++;
                    if (samples.Count < 100_000)
                    {
                        var host = network | ((uint)random.Next() & ~(uint.MaxValue << (32 - bits)));
                        samples.Add(new IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(host)));
                    }
                }
            }
            else
            {
                var bits = random.NextDouble() < 0.5 ? 48 : random.Next(32, 48);
                random.NextBytes(bytes);
                bytes[0] = 0x20;
                var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
                if (builder.AddV6(site, value, bits))
                {
                    added++;
                    if (samples.Count < 130_000)
                    {
                        samples.Add(new IPAddress(bytes));
                    }
                }
            }
        }

        return (builder.Build(), samples.ToArray());
    }

    private static (string Title, IPAddress Client)[] Requests(int count, string[] titles, Zipf zipf, IPAddress[] samples, Random random)
    {
        var requests = new (string Title, IPAddress Client)[count];
        for (var i = 0; i < count; i++)
        {
            requests[i] = (titles[zipf.Next()], random.NextDouble() < 0.9 ? samples[random.Next(samples.Length)] : RandomAddress(random));
        }

        return requests;
    }

    private static IPAddress RandomAddress(Random random) => random.Next(2) == 0
        ? new IPAddress((uint)random.Next())
        : new IPAddress(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray());

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Zipf sampler over ranks 0..n-1 by inverse CDF.</summary>
    internal sealed class Zipf
    {
        private readonly double[] _cdf;
        private readonly Random _random;

        public Zipf(int n, double alpha, Random random)
        {
            _random = random;
            _cdf = new double[n];
            var sum = 0.0;
            for (var i = 0; i < n; i++)
            {
                sum += 1.0 / Math.Pow(i + 1, alpha);
                _cdf[i] = sum;
            }

            for (var i = 0; i < n; i++)
            {
                _cdf[i] /= sum;
            }
        }

        public int Next()
        {
            var index = Array.BinarySearch(_cdf, _random.NextDouble());
            return Math.Min(index < 0 ? ~index : index, _cdf.Length - 1);
        }
    }

    private sealed record Options(int Appliances, int Sites, int Titles, int Prefixes, int Held, int Decisions, int Seed, int Cpu, int Crypto)
    {
        public static Options Parse(IReadOnlyList<string> args)
        {
            var values = new Dictionary<string, int>
            {
                ["--appliances"] = 10_000,
                ["--sites"] = 1_000,
                ["--titles"] = 100_000,
                ["--prefixes"] = 1_000_000,
                ["--held"] = 300,
                ["--decisions"] = 200_000,
                ["--seed"] = 42,
                ["--cpu"] = 1,
                ["--crypto"] = 2_000,
            };
            for (var i = 0; i < args.Count; i++)
            {
                if (!values.ContainsKey(args[i]) || i + 1 >= args.Count || !int.TryParse(args[i + 1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                {
                    throw new BenchUsageException($"unknown option or missing number: '{args[i]}'");
                }

                values[args[i]] = value;
                i++;
            }

            var o = new Options(values["--appliances"], values["--sites"], values["--titles"], values["--prefixes"], values["--held"], values["--decisions"], values["--seed"], values["--cpu"], values["--crypto"]);
            if (o.Appliances < 1 || o.Sites < 1 || o.Titles < o.Held || o.Held < 1 || o.Prefixes < 1 || o.Decisions < 100 || o.Crypto < 0)
            {
                throw new BenchUsageException("--appliances, --sites, --prefixes, --held must be positive, --titles at least --held, --decisions at least 100");
            }

            return o;
        }
    }
}
