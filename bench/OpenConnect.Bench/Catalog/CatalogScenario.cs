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
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Bench.Catalog;

/// <summary>
/// Catalog search and hot-key reads at 100,000 titles. The origin runs as a separate Release
/// process pinned to core 0, wrk -t1 pinned to core 1. Search runs three query sets (exact,
/// misspelled, prefix) and a mix; reads run with 90% of requests on one title, beside the same
/// reads spread uniformly over the catalog as the reference. The same runs go against the SQLite
/// catalog and a PostgreSQL one, one after the other in one invocation.
/// </summary>
public sealed class CatalogScenario : IScenario
{
    public string Name => "catalog";

    public string Description => "origin catalog: search q/s and p99 (exact, misspelled, prefix) and hot-title metadata reads/s at 100k titles, pinned, with wrk";

    public string Usage => """
        bench catalog [--engine sqlite|postgresql|both] [--titles N] [--seconds S] [--warmup-seconds S] [--connections C] [--search-connections C] [--queries Q] [--seed N] [--data DIR]
          --engine E              the catalog's database: sqlite (catalog.db), postgresql (a throwaway cluster
                                  from scripts/postgres.sh, its server processes pinned to core 0 beside the
                                  origin and their CPU counted as the server's), or both, side by side (default both)
          --titles N              titles generated into the catalog (default 100000)
          --seconds S             seconds per wrk run (default 10)
          --warmup-seconds S      unmeasured mixed-search run first, for JIT tiering and page cache (default 5; 0 = none)
          --connections C         wrk connections for the metadata reads (default 32)
          --search-connections C  wrk connections for the searches (default 4)
          --queries Q             queries per set (exact, misspelled, prefix) (default 300)
          --seed N                generator seed (default 42)
          --data DIR              keep the seeded SQLite catalog in DIR and reuse it on later runs with the same
                                  --titles and --seed (default: a temp directory, seeded every run; PostgreSQL
                                  is always seeded into a fresh cluster)
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var engines = EngineOption(args);
        var titles = IntOption(args, "--titles", 100_000, 100, 5_000_000);
        var seconds = IntOption(args, "--seconds", 10, 1, 600);
        var warmupSeconds = IntOption(args, "--warmup-seconds", 5, 0, 600);
        var connections = IntOption(args, "--connections", 32, 1, 1000);
        var searchConnections = IntOption(args, "--search-connections", 4, 1, 1000);
        var queries = IntOption(args, "--queries", 300, 10, 100_000);
        var seed = IntOption(args, "--seed", 42, 0, int.MaxValue);
        var keptData = StringOption(args, "--data");
        var tools = ToolPaths.Require();
        var settings = new RunSettings(tools, titles, seconds, warmupSeconds, connections, searchConnections);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        cancellationToken = stop.Token;
        var temp = Directory.CreateTempSubdirectory("openconnect-catalog-").FullName;
        PostgresServer? postgres = null;
        try
        {
            var corpus = CatalogCorpus.Generate(titles, queries, seed);
            Console.WriteLine($"load average before the runs: {LoadAverage():F2} on {Environment.ProcessorCount} cores");
            var outcomes = new List<EngineOutcome>();
            foreach (var engine in engines)
            {
                string[] database = [];
                Func<double> databaseCpu = () => 0;
                var data = Path.Combine(temp, $"origin-{engine}");
                if (engine == Postgresql)
                {
                    postgres = await PostgresServer.StartAsync().ConfigureAwait(false);
                    var postmaster = postgres.PostmasterPid;
                    await ChildProcess.RunAsync(tools.Taskset, ["-a", "-c", "-p", "0", postmaster.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                    var catalog = await TestDatabase.CreateOnAsync(postgres.ConnectionString).ConfigureAwait(false);
                    database = ["--Origin:Catalog:Database:Provider=PostgreSql", $"--Origin:Catalog:Database:ConnectionString={catalog.ConnectionString}"];
                    databaseCpu = () => ProcessTreeCpuSeconds(postmaster);
                }
                else if (keptData is not null)
                {
                    data = Path.GetFullPath(keptData);
                }

                outcomes.Add(await RunEngineAsync(engine, settings, corpus, seed, data, database, databaseCpu, temp, cancellationToken).ConfigureAwait(false));
                if (postgres is not null)
                {
                    await postgres.DisposeAsync().ConfigureAwait(false);
                    postgres = null;
                }
            }

            Console.WriteLine();
            foreach (var outcome in outcomes)
            {
                Console.WriteLine($"== {outcome.Engine}");
                Console.WriteLine(outcome.Quality);
                Console.WriteLine(outcome.Runs);
                Console.WriteLine($"{outcome.Engine}: hot/uniform read ratio {outcome.Hot.RequestsPerSecond / outcome.Uniform.RequestsPerSecond:F2}; goals: search p99 < 20 ms ({(outcome.Search.P99Ms < 20 ? "met" : "missed")}), hot reads >= 20,000/s ({(outcome.Hot.RequestsPerSecond >= 20_000 ? "met" : "missed")})");
            }

            var json = new Dictionary<string, object>
            {
                ["scenario"] = "catalog",
                ["titles"] = titles,
                ["engines"] = engines,
            };
            foreach (var outcome in outcomes)
            {
                // SQLite keeps the keys earlier runs reported; PostgreSQL's carry a pg_ prefix.
                var prefix = outcome.Engine == Postgresql ? "pg_" : "";
                json[prefix + "search_qps"] = Math.Round(outcome.Search.RequestsPerSecond, 1);
                json[prefix + "search_p99_ms"] = Math.Round(outcome.Search.P99Ms, 2);
                json[prefix + "search_exact_p99_ms"] = Math.Round(outcome.Results["search exact"].P99Ms, 2);
                json[prefix + "search_misspelled_p99_ms"] = Math.Round(outcome.Results["search misspelled"].P99Ms, 2);
                json[prefix + "search_prefix_p99_ms"] = Math.Round(outcome.Results["search prefix"].P99Ms, 2);
                json[prefix + "hot_read_rps"] = Math.Round(outcome.Hot.RequestsPerSecond, 1);
                json[prefix + "hot_read_p99_ms"] = Math.Round(outcome.Hot.P99Ms, 2);
                json[prefix + "uniform_read_rps"] = Math.Round(outcome.Uniform.RequestsPerSecond, 1);
                json[prefix + "hot_vs_uniform"] = Math.Round(outcome.Hot.RequestsPerSecond / outcome.Uniform.RequestsPerSecond, 3);
                json[prefix + "errors"] = outcome.Results.Values.Sum(r => r.Errors);
            }

            json["load_average"] = Math.Round(LoadAverage(), 2);
            Summary.WriteJsonLine(json);
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench catalog: interrupted; stopping the origin and removing temp files");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or FormatException or IOException or HttpRequestException or Npgsql.NpgsqlException)
        {
            Console.Error.WriteLine($"bench catalog: FAILED: {ex.Message}");
            return 1;
        }
        finally
        {
            if (postgres is not null)
            {
                await postgres.DisposeAsync().ConfigureAwait(false);
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

    private const string Sqlite = "sqlite";
    private const string Postgresql = "postgresql";

    private sealed record RunSettings(ToolPaths Tools, int Titles, int Seconds, int WarmupSeconds, int Connections, int SearchConnections);

    private sealed record EngineOutcome(string Engine, Table Quality, Table Runs, Dictionary<string, WrkReport> Results)
    {
        public WrkReport Search => Results["search mixed"];

        public WrkReport Hot => Results["reads 90% hot"];

        public WrkReport Uniform => Results["reads uniform"];
    }

    /// <summary>Seeds one engine's catalog, starts the origin on it (pinned to core 0) and runs every query set and read mix.</summary>
    private static async Task<EngineOutcome> RunEngineAsync(string engine, RunSettings settings, CatalogCorpus corpus, int seed, string data, string[] database, Func<double> databaseCpu, string temp, CancellationToken cancellationToken)
    {
        var tools = settings.Tools;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seeded = await SeedOrReuseAsync(data, database, corpus, seed, cancellationToken).ConfigureAwait(false);
        var seedSeconds = clock.Elapsed.TotalSeconds;
        var dbBytes = engine == Sqlite ? new DirectoryInfo(data).EnumerateFiles("catalog.db*").Sum(f => f.Length) / 1e6 : double.NaN;
        Console.WriteLine(seeded
            ? $"{engine}: {settings.Titles:N0} titles seeded in {seedSeconds:F1} s{(engine == Sqlite ? $" (catalog.db + WAL {dbBytes:F0} MB)" : "")}; {settings.Seconds} s per run; origin{(engine == Postgresql ? " and PostgreSQL" : "")} pinned to core 0, wrk -t1 pinned to core 1"
            : $"{engine}: {settings.Titles:N0} titles reused from {data} ({dbBytes:F0} MB, opened and migrated in {seedSeconds:F1} s); {settings.Seconds} s per run; origin pinned to core 0, wrk -t1 pinned to core 1");

        var port = NginxServer.FreePort();
        var managementPort = NginxServer.FreePort();
        await using var server = ChildProcess.Start(tools.Taskset,
        [
            "-c", "0", "dotnet", typeof(OriginHost).Assembly.Location,
            "--urls", $"http://127.0.0.1:{port}",
            $"--Management:Url=http://127.0.0.1:{managementPort}",
            $"--Origin:DataDirectory={data}",
            "--Origin:Catalog:RateLimitPerSecond=10000000",
            "--Origin:Catalog:RateLimitBurst=10000000",
            "--Logging:LogLevel:Default=Warning",
            .. database,
        ]);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        using (var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}/"), Timeout = TimeSpan.FromSeconds(30) })
        {
            await WaitHealthyAsync(management, server, cancellationToken).ConfigureAwait(false);
        }

        var hotId = CatalogCorpus.IdOf(settings.Titles / 2);
        var quality = new Table("query set", "queries", "with results", "source title in top 20");
        foreach (var (name, set) in new[] { ("exact", corpus.Exact), ("misspelled", corpus.Misspelled), ("prefix", corpus.Prefix) })
        {
            var (withResults, found) = await CheckQueriesAsync(client, corpus, set, cancellationToken).ConfigureAwait(false);
            quality.Add(name, set.Count, withResults, name == "prefix" ? "-" : found.ToString(CultureInfo.InvariantCulture));
        }

        var runs = new Table("run", "connections", "requests/s", "p50 ms", "p99 ms", "errors", "origin CPU s", "database CPU s", "requests per server CPU s");
        var mixed = corpus.Exact.Zip(corpus.Misspelled, corpus.Prefix).SelectMany(q => new[] { q.First, q.Second, q.Third }).ToList();
        var results = new Dictionary<string, WrkReport>();
        var target = new WrkTarget(tools, temp, server, databaseCpu, port, runs);

        // Unmeasured: the origin's just-started JIT compiles its hot paths and the database pages come
        // in, so the measured runs see the steady state (not the first run only).
        if (settings.WarmupSeconds > 0)
        {
            await RunWrkAsync(target, SearchScript(mixed), settings.SearchConnections, settings.WarmupSeconds, $"{engine} warm-up (not scored)", cancellationToken).ConfigureAwait(false);
        }

        foreach (var (name, set) in new[] { ("search exact", corpus.Exact), ("search misspelled", corpus.Misspelled), ("search prefix", corpus.Prefix), ("search mixed", mixed) })
        {
            results[name] = await RunWrkAsync(target, SearchScript(set), settings.SearchConnections, settings.Seconds, name, cancellationToken).ConfigureAwait(false);
        }

        // Warm the hot title once, then the reference (uniform) and the hot-key run side by side.
        await client.GetStringAsync($"api/v1/titles/{hotId}", cancellationToken).ConfigureAwait(false);
        results["reads uniform"] = await RunWrkAsync(target, ReadScript(settings.Titles, hotId, 0.0), settings.Connections, settings.Seconds, "reads uniform", cancellationToken).ConfigureAwait(false);
        results["reads 90% hot"] = await RunWrkAsync(target, ReadScript(settings.Titles, hotId, 0.9), settings.Connections, settings.Seconds, "reads 90% hot", cancellationToken).ConfigureAwait(false);
        return new EngineOutcome(engine, quality, runs, results);
    }

    private static IReadOnlyList<string> EngineOption(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--engine")
            {
                return (i + 1 < args.Count ? args[i + 1] : "") switch
                {
                    Sqlite => [Sqlite],
                    Postgresql => [Postgresql],
                    "both" => [Sqlite, Postgresql],
                    _ => throw new BenchUsageException("--engine needs sqlite, postgresql or both"),
                };
            }
        }

        return [Sqlite, Postgresql];
    }

    /// <summary>CPU seconds of a process and its direct children (the postmaster and its backends, which stay while pooled).</summary>
    private static double ProcessTreeCpuSeconds(int root)
    {
        var ticks = 0L;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // After the parenthesised command name: state is field 3, ppid 4, utime 14, stime 15.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (pid == root || int.Parse(fields[1], CultureInfo.InvariantCulture) == root)
                {
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process ended between the listing and the read.
            }
        }

        return ticks / 100.0;
    }

    /// <summary>
    /// Loads the corpus through the catalog's bulk import (<see cref="PublishedTitles.ImportAsync"/>,
    /// in-process, 5,000 titles per transaction: COPY on PostgreSQL, one upsert after another on SQLite),
    /// unless the directory holds a complete seeding of the same corpus (its marker file is written
    /// last). Opening the store applies any pending schema migration either way. True when it seeded.
    /// </summary>
    private static async Task<bool> SeedOrReuseAsync(string dataDirectory, string[] databaseSettings, CatalogCorpus corpus, int seed, CancellationToken cancellationToken)
    {
        var marker = Path.Combine(dataDirectory, "bench-catalog-corpus.txt");
        var identity = string.Create(CultureInfo.InvariantCulture, $"titles={corpus.Titles.Count} seed={seed}");
        var reuse = File.Exists(marker) && (await File.ReadAllTextAsync(marker, cancellationToken).ConfigureAwait(false)).Trim() == identity;
        if (!reuse && Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new InvalidOperationException($"{dataDirectory} is not empty and holds no complete seeding of {identity}; give an empty or new directory");
        }

        var app = OriginHost.Build(["--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", $"--Origin:DataDirectory={dataDirectory}", "--Logging:LogLevel:Default=Warning", .. databaseSettings]);
        await using (app.ConfigureAwait(false))
        {
            // Opening the database applies pending migrations here, not in the measured origin's start.
            var database = app.Services.GetRequiredService<CatalogDatabase>();
            if (!reuse)
            {
                var store = app.Services.GetRequiredService<PublishedTitles>();
                foreach (var batch in corpus.Titles.Chunk(5_000))
                {
                    await store.ImportAsync(batch, cancellationToken).ConfigureAwait(false);
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

    /// <summary>The origin under test, the database beside it (no CPU for SQLite, which runs inside the origin), and the table runs go into.</summary>
    private sealed record WrkTarget(ToolPaths Tools, string Temp, ChildProcess Server, Func<double> DatabaseCpu, int Port, Table Runs);

    private static async Task<WrkReport> RunWrkAsync(WrkTarget target, string script, int connections, int seconds, string name, CancellationToken cancellationToken)
    {
        var path = Path.Combine(target.Temp, name.Replace(' ', '-').Replace('%', 'p').Replace('(', '_').Replace(')', '_') + ".lua");
        await File.WriteAllTextAsync(path, script, cancellationToken).ConfigureAwait(false);
        var cpuBefore = target.Server.CpuSeconds();
        var databaseBefore = target.DatabaseCpu();
        var (code, output) = await ChildProcess.RunAsync(target.Tools.Taskset,
            ["-c", "1", target.Tools.Wrk, "-t1", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", path, $"http://127.0.0.1:{target.Port}"],
            TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"wrk failed (exit {code}):\n{output}");
        }

        var report = WrkReport.Parse(output);
        var cpu = target.Server.CpuSeconds() - cpuBefore;
        var databaseCpu = target.DatabaseCpu() - databaseBefore;
        target.Runs.Add(name, connections, report.RequestsPerSecond, report.P50Ms, report.P99Ms, report.Errors, cpu, databaseCpu, report.Requests / Math.Max(cpu + databaseCpu, 0.01));
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
