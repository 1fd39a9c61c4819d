using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Bench.Throughput;
using OpenConnect.Origin;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Bench.Catalog;

/// <summary>
/// Catalog search and hot-key reads at 100,000 titles. The origin runs as a separate Release
/// process pinned to core 0, wrk -t1 pinned to core 1. Search runs three query sets (exact,
/// misspelled, prefix) and a mix; reads run with 90% of requests on one title, beside the same
/// reads spread uniformly over the catalog as the reference.
/// </summary>
public sealed class CatalogScenario : IScenario
{
    public string Name => "catalog";

    public string Description => "origin catalog: search q/s and p99 (exact, misspelled, prefix) and hot-title metadata reads/s at 100k titles, pinned, with wrk";

    public string Usage => """
        bench catalog [--titles N] [--seconds S] [--warmup-seconds S] [--connections C] [--search-connections C] [--queries Q] [--seed N] [--data DIR]
          --titles N              titles generated into the catalog (default 100000)
          --seconds S             seconds per wrk run (default 10)
          --warmup-seconds S      unmeasured mixed-search run first, for JIT tiering and page cache (default 5; 0 = none)
          --connections C         wrk connections for the metadata reads (default 32)
          --search-connections C  wrk connections for the searches (default 4)
          --queries Q             queries per set (exact, misspelled, prefix) (default 300)
          --seed N                generator seed (default 42)
          --data DIR              keep the seeded catalog in DIR and reuse it on later runs with the same
                                  --titles and --seed (default: a temp directory, seeded every run)
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var titles = IntOption(args, "--titles", 100_000, 100, 5_000_000);
        var seconds = IntOption(args, "--seconds", 10, 1, 600);
        var warmupSeconds = IntOption(args, "--warmup-seconds", 5, 0, 600);
        var connections = IntOption(args, "--connections", 32, 1, 1000);
        var searchConnections = IntOption(args, "--search-connections", 4, 1, 1000);
        var queries = IntOption(args, "--queries", 300, 10, 100_000);
        var seed = IntOption(args, "--seed", 42, 0, int.MaxValue);
        var keptData = StringOption(args, "--data");
        var tools = ToolPaths.Require();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        cancellationToken = stop.Token;
        var temp = Directory.CreateTempSubdirectory("openconnect-catalog-").FullName;
        ChildProcess? server = null;
        try
        {
            var data = keptData is null ? Path.Combine(temp, "origin") : Path.GetFullPath(keptData);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var corpus = CatalogCorpus.Generate(titles, queries, seed);
            var seeded = await SeedOrReuseAsync(data, corpus, seed, cancellationToken).ConfigureAwait(false);
            var seedSeconds = clock.Elapsed.TotalSeconds;
            var dbBytes = new DirectoryInfo(data).EnumerateFiles("catalog.db*").Sum(f => f.Length);
            Console.WriteLine($"load average before the runs: {LoadAverage():F2} on {Environment.ProcessorCount} cores");
            Console.WriteLine(seeded
                ? $"catalog: {titles:N0} titles seeded in {seedSeconds:F1} s (catalog.db + WAL {dbBytes / 1e6:F0} MB); {seconds} s per run; origin pinned to core 0, wrk -t1 pinned to core 1"
                : $"catalog: {titles:N0} titles reused from {data} ({dbBytes / 1e6:F0} MB, opened and migrated in {seedSeconds:F1} s); {seconds} s per run; origin pinned to core 0, wrk -t1 pinned to core 1");

            var port = NginxServer.FreePort();
            var managementPort = NginxServer.FreePort();
            server = ChildProcess.Start(tools.Taskset,
            [
                "-c", "0", "dotnet", typeof(OriginHost).Assembly.Location,
                "--urls", $"http://127.0.0.1:{port}",
                $"--Management:Url=http://127.0.0.1:{managementPort}",
                $"--Origin:DataDirectory={data}",
                "--Origin:Catalog:RateLimitPerSecond=10000000",
                "--Origin:Catalog:RateLimitBurst=10000000",
                "--Logging:LogLevel:Default=Warning",
            ]);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            using (var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}/"), Timeout = TimeSpan.FromSeconds(30) })
            {
                await WaitHealthyAsync(management, server, cancellationToken).ConfigureAwait(false);
            }

            var hotId = CatalogCorpus.IdOf(titles / 2);
            var quality = new Table("query set", "queries", "with results", "source title in top 20");
            foreach (var (name, set) in new[] { ("exact", corpus.Exact), ("misspelled", corpus.Misspelled), ("prefix", corpus.Prefix) })
            {
                var (withResults, found) = await CheckQueriesAsync(client, corpus, set, cancellationToken).ConfigureAwait(false);
                quality.Add(name, set.Count, withResults, name == "prefix" ? "-" : found.ToString(CultureInfo.InvariantCulture));
            }

            var runs = new Table("run", "connections", "requests/s", "p50 ms", "p99 ms", "errors", "server CPU s", "requests per server CPU s");
            var mixed = corpus.Exact.Zip(corpus.Misspelled, corpus.Prefix).SelectMany(q => new[] { q.First, q.Second, q.Third }).ToList();
            var results = new Dictionary<string, WrkReport>();

            // Unmeasured: the origin's just-started JIT tiers its hot paths up and the mapped database
            // pages come in, so the measured runs see the steady state (not the first run only).
            if (warmupSeconds > 0)
            {
                await RunWrkAsync(tools, temp, server, port, SearchScript(mixed), searchConnections, warmupSeconds, "warm-up (not scored)", runs, cancellationToken).ConfigureAwait(false);
            }

            foreach (var (name, set) in new[] { ("search exact", corpus.Exact), ("search misspelled", corpus.Misspelled), ("search prefix", corpus.Prefix), ("search mixed", mixed) })
            {
                var script = SearchScript(set);
                results[name] = await RunWrkAsync(tools, temp, server, port, script, searchConnections, seconds, name, runs, cancellationToken).ConfigureAwait(false);
            }

            // Warm the hot title once, then the reference (uniform) and the hot-key run side by side.
            await client.GetStringAsync($"api/v1/titles/{hotId}", cancellationToken).ConfigureAwait(false);
            results["reads uniform"] = await RunWrkAsync(tools, temp, server, port, ReadScript(titles, hotId, 0.0), connections, seconds, "reads uniform", runs, cancellationToken).ConfigureAwait(false);
            results["reads 90% hot"] = await RunWrkAsync(tools, temp, server, port, ReadScript(titles, hotId, 0.9), connections, seconds, "reads 90% hot", runs, cancellationToken).ConfigureAwait(false);

            Console.WriteLine();
            Console.WriteLine(quality);
            Console.WriteLine(runs);
            var search = results["search mixed"];
            var hot = results["reads 90% hot"];
            var uniform = results["reads uniform"];
            Console.WriteLine($"hot/uniform read ratio: {hot.RequestsPerSecond / uniform.RequestsPerSecond:F2}; goals: search p99 < 20 ms ({(search.P99Ms < 20 ? "met" : "missed")}), hot reads >= 20,000/s ({(hot.RequestsPerSecond >= 20_000 ? "met" : "missed")})");
            Summary.WriteJsonLine(new
            {
                scenario = "catalog",
                titles,
                search_qps = Math.Round(search.RequestsPerSecond, 1),
                search_p99_ms = Math.Round(search.P99Ms, 2),
                search_exact_p99_ms = Math.Round(results["search exact"].P99Ms, 2),
                search_misspelled_p99_ms = Math.Round(results["search misspelled"].P99Ms, 2),
                search_prefix_p99_ms = Math.Round(results["search prefix"].P99Ms, 2),
                hot_read_rps = Math.Round(hot.RequestsPerSecond, 1),
                hot_read_p99_ms = Math.Round(hot.P99Ms, 2),
                uniform_read_rps = Math.Round(uniform.RequestsPerSecond, 1),
                hot_vs_uniform = Math.Round(hot.RequestsPerSecond / uniform.RequestsPerSecond, 3),
                load_average = Math.Round(LoadAverage(), 2),
                errors = results.Values.Sum(r => r.Errors),
            });
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench catalog: interrupted; stopping the origin and removing temp files");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or FormatException or IOException or HttpRequestException)
        {
            Console.Error.WriteLine($"bench catalog: FAILED: {ex.Message}");
            return 1;
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }

            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"bench catalog: could not remove {temp}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// Loads the corpus through the catalog's own store (in-process, 5,000 titles per transaction),
    /// unless the directory holds a complete seeding of the same corpus (its marker file is written
    /// last). Opening the store applies any pending schema migration either way. True when it seeded.
    /// </summary>
    private static async Task<bool> SeedOrReuseAsync(string dataDirectory, CatalogCorpus corpus, int seed, CancellationToken cancellationToken)
    {
        var marker = Path.Combine(dataDirectory, "bench-catalog-corpus.txt");
        var identity = string.Create(CultureInfo.InvariantCulture, $"titles={corpus.Titles.Count} seed={seed}");
        var reuse = File.Exists(marker) && (await File.ReadAllTextAsync(marker, cancellationToken).ConfigureAwait(false)).Trim() == identity;
        if (!reuse && Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new InvalidOperationException($"{dataDirectory} is not empty and holds no complete seeding of {identity}; give an empty or new directory");
        }

        var app = OriginHost.Build(["--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", $"--Origin:DataDirectory={dataDirectory}", "--Logging:LogLevel:Default=Warning"]);
        await using (app.ConfigureAwait(false))
        {
            // Opening the database applies pending migrations here, not in the measured origin's start.
            var database = app.Services.GetRequiredService<CatalogDatabase>();
            if (!reuse)
            {
                var store = app.Services.GetRequiredService<PublishedTitles>();
                foreach (var batch in corpus.Titles.Chunk(5_000))
                {
                    await store.UpsertManyAsync(batch, cancellationToken).ConfigureAwait(false);
                }
            }

            // The origin's daily index merge (SearchIndexMaintenance), run now so every run measures
            // merged indexes rather than whatever segments the seeding left.
            await database.OptimizeSearchAsync(cancellationToken).ConfigureAwait(false);
        }

        if (reuse)
        {
            return false;
        }

        await File.WriteAllTextAsync(marker, identity + "\n", cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static async Task<(int WithResults, int Found)> CheckQueriesAsync(HttpClient client, CatalogCorpus corpus, List<string> set, CancellationToken cancellationToken)
    {
        _ = corpus;
        int withResults = 0, found = 0;
        foreach (var query in set)
        {
            var result = await client.GetFromJsonAsync<SearchResult>($"api/v1/search?limit=20&q={Uri.EscapeDataString(query)}", new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web), cancellationToken).ConfigureAwait(false);
            if (result!.Items.Count > 0)
            {
                withResults++;
            }

            // The query's words came from some title: is a title with all of them (as intended) among the top 20?
            var words = TextFold.Words(query);
            var intended = words.Select(w => result.Corrections.TryGetValue(w, out var fixes) ? fixes : (IReadOnlyList<string>)[w]).ToList();
            if (result.Items.Any(t => intended.All(options => options.Any(o => TextFold.Fold(t.Title).Contains(o, StringComparison.Ordinal)))))
            {
                found++;
            }
        }

        return (withResults, found);
    }

    private static async Task<WrkReport> RunWrkAsync(ToolPaths tools, string temp, ChildProcess server, int port, string script, int connections, int seconds, string name, Table runs, CancellationToken cancellationToken)
    {
        var path = Path.Combine(temp, name.Replace(' ', '-').Replace('%', 'p') + ".lua");
        await File.WriteAllTextAsync(path, script, cancellationToken).ConfigureAwait(false);
        var cpuBefore = server.CpuSeconds();
        var (code, output) = await ChildProcess.RunAsync(tools.Taskset,
            ["-c", "1", tools.Wrk, "-t1", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", path, $"http://127.0.0.1:{port}"],
            TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"wrk failed (exit {code}):\n{output}");
        }

        var report = WrkReport.Parse(output);
        var cpu = server.CpuSeconds() - cpuBefore;
        runs.Add(name, connections, report.RequestsPerSecond, report.P50Ms, report.P99Ms, report.Errors, cpu, report.Requests / Math.Max(cpu, 0.01));
        Console.WriteLine($"  {name}: {report.RequestsPerSecond:F0} req/s, p99 {report.P99Ms:F2} ms, errors {report.Errors}");
        return report;
    }

    private static string SearchScript(List<string> queries)
    {
        var lua = new StringBuilder("local paths = {\n");
        foreach (var query in queries)
        {
            lua.Append("  \"/api/v1/search?limit=20&q=").Append(Uri.EscapeDataString(query)).Append("\",\n");
        }

        lua.Append("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n");
        return lua.ToString();
    }

    private static string ReadScript(int titles, string hotId, double hotShare) => string.Create(CultureInfo.InvariantCulture, $$"""
        math.randomseed(7)
        request = function()
          if math.random() < {{hotShare}} then
            return wrk.format("GET", "/api/v1/titles/{{hotId}}")
          end
          return wrk.format("GET", string.format("/api/v1/titles/bench-%06d", math.random(0, {{titles - 1}})))
        end
        """);

    private static async Task WaitHealthyAsync(HttpClient client, ChildProcess server, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"the origin exited with code {server.ExitCode}:\n{server.Output}");
            }

            try
            {
                if ((await client.GetAsync("healthz", cancellationToken).ConfigureAwait(false)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException("the origin did not answer /healthz within 60 s");
    }

    /// <summary>The one-minute load average: on a shared machine it says how much of core 0 the origin actually had.</summary>
    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static string? StringOption(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == name)
            {
                return i + 1 < args.Count && args[i + 1].Length > 0 && !args[i + 1].StartsWith("--", StringComparison.Ordinal)
                    ? args[i + 1]
                    : throw new BenchUsageException($"{name} needs a directory");
            }
        }

        return null;
    }

    private static int IntOption(IReadOnlyList<string> args, string name, int fallback, int min, int max)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == name)
            {
                if (i + 1 >= args.Count || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
                {
                    throw new BenchUsageException($"{name} needs an integer between {min} and {max}");
                }

                return value;
            }
        }

        return fallback;
    }
}
