using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Ingest;

/// <summary>
/// Upload throughput of the origin's TUS server against @tus/server + @tus/file-store, with the same
/// tus-js-client and file, side by side in one run; reports MB/s, server CPU seconds and the ratio.
/// </summary>
public sealed class IngestScenario : IScenario
{
    private static readonly TimeSpan UploadTimeout = TimeSpan.FromMinutes(10);

    public string Name => "ingest";

    public string Description => "origin TUS ingest vs @tus/server (file store) with tus-js-client, 1 and 8 MiB chunks, pinned";

    public string Usage => IngestSettings.Usage;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var settings = IngestSettings.Parse(args);
        var repoRoot = FindRepoRoot();
        var nodeDirectory = Path.Combine(repoRoot, "tests", "node");
        if (!Directory.Exists(Path.Combine(nodeDirectory, "node_modules", "@tus", "server")))
        {
            throw new BenchUsageException($"@tus/server is not installed: run 'npm ci' in {nodeDirectory}");
        }

        var taskset = Which("taskset") ?? throw new BenchUsageException("taskset not found; apt-get install -y util-linux");
        var node = Which("node") ?? throw new BenchUsageException("node not found; apt-get install -y nodejs npm");
        await EnsureOriginBuiltAsync(repoRoot, cancellationToken).ConfigureAwait(false);

        var temp = Path.Combine(Path.GetTempPath(), $"openconnect-bench-ingest-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var file = Path.Combine(temp, "source.bin");
            var size = await WriteSourceAsync(file, settings.FileMiB, cancellationToken).ConfigureAwait(false);
            await using var origin = await StartOriginAsync("origin", taskset, repoRoot, Path.Combine(temp, "origin"), [], cancellationToken).ConfigureAwait(false);
            await using var reference = await StartReferenceAsync(taskset, node, nodeDirectory, Path.Combine(temp, "tus"), cancellationToken).ConfigureAwait(false);
            await using var backends = settings.Shared ? await SharedBackends.StartAsync(taskset, node, nodeDirectory, Path.Combine(temp, "shared"), cancellationToken).ConfigureAwait(false) : null;
            await using var shared = backends is null ? null
                : await StartOriginAsync("origin-s3", taskset, repoRoot, Path.Combine(temp, "origin-s3"), backends.OriginSettings, cancellationToken).ConfigureAwait(false);
            Server[] servers = shared is null ? [origin, reference] : [origin, shared, reference];
            Console.WriteLine($"servers pinned to core 0 (taskset -c 0), tus-js-client pinned to core 1; file {settings.FileMiB} MiB; "
                + string.Join(", ", servers.Select(s => $"{s.Name} pid {s.Process.Id} port {s.Port}"))
                + (backends is null ? "" : "; PostgreSQL and s3rver for origin-s3 pinned to core 0 too"));

            // Steady state is the question: one unmeasured upload per server and chunk size first,
            // so neither the .NET JIT (tiered compilation) nor V8 compiles during measured runs.
            foreach (var chunk in settings.ChunkMiB)
            {
                foreach (var server in servers)
                {
                    var warm = await UploadAsync(taskset, node, nodeDirectory, server, file, size, chunk, -1, cancellationToken).ConfigureAwait(false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up chunk {chunk} MiB {warm.Server,-10} {warm.MegabytesPerSecond:F1} MB/s (not counted)"));
                }
            }

            var runs = new List<Run>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                foreach (var chunk in settings.ChunkMiB)
                {
                    // Which server goes first rotates with the round.
                    var order = servers.Skip(round % servers.Length).Concat(servers.Take(round % servers.Length));
                    foreach (var server in order)
                    {
                        var run = await UploadAsync(taskset, node, nodeDirectory, server, file, size, chunk, round, cancellationToken).ConfigureAwait(false);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round + 1} chunk {chunk} MiB {run.Server,-10} {run.MegabytesPerSecond:F1} MB/s server CPU {run.ServerCpuSeconds:F2} s"));
                        runs.Add(run);
                    }
                }
            }

            Report(settings, runs);
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"bench ingest: could not remove {temp}: {ex.Message}");
            }
        }
    }

    private sealed record Run(string Server, int ChunkMiB, int Round, double MegabytesPerSecond, double ServerCpuSeconds);

    private sealed class Server(string name, ChildProcess process, int port) : IAsyncDisposable
    {
        public string Name { get; } = name;

        public ChildProcess Process { get; } = process;

        public int Port { get; } = port;

        public string Endpoint => $"http://127.0.0.1:{Port}/files/";

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    private static async Task<Run> UploadAsync(string taskset, string node, string nodeDirectory, Server server, string file, long size, int chunkMiB, int round, CancellationToken cancellationToken)
    {
        var cpuBefore = server.Process.CpuSeconds();
        var (code, output) = await ChildProcess.RunAsync(taskset, ["-c", "1", node, Path.Combine(nodeDirectory, "tus-upload.js"), "--endpoint", server.Endpoint, "--file", file, "--chunk-size", (chunkMiB << 20).ToString(CultureInfo.InvariantCulture)], UploadTimeout, cancellationToken).ConfigureAwait(false);
        var cpu = server.Process.CpuSeconds() - cpuBefore;
        if (code != 0)
        {
            throw new InvalidOperationException($"tus-js-client against {server.Name} failed (exit {code}):\n{output}");
        }

        var done = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('{'))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Single(e => e.GetProperty("event").GetString() == "done");
        var milliseconds = done.GetProperty("ms").GetDouble();
        var url = new Uri(new Uri(server.Endpoint), done.GetProperty("url").GetString());
        await VerifyAndDeleteAsync(server, url, size, cancellationToken).ConfigureAwait(false);
        return new Run(server.Name, chunkMiB, round, size / 1e6 / (milliseconds / 1000), cpu);
    }

    /// <summary>Checks the server holds the whole upload (HEAD offset = size), then deletes it so the disk does not fill.</summary>
    private static async Task VerifyAndDeleteAsync(Server server, Uri url, long size, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var head = new HttpRequestMessage(HttpMethod.Head, url);
        head.Headers.Add("Tus-Resumable", "1.0.0");
        using var headResponse = await client.SendAsync(head, cancellationToken).ConfigureAwait(false);
        var offset = headResponse.Headers.TryGetValues("Upload-Offset", out var values) ? values.First() : "?";
        if (offset != size.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"{server.Name} reports offset {offset} for {url}, expected {size}");
        }

        using var delete = new HttpRequestMessage(HttpMethod.Delete, url);
        delete.Headers.Add("Tus-Resumable", "1.0.0");
        using var deleted = await client.SendAsync(delete, cancellationToken).ConfigureAwait(false);
        if (!deleted.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{server.Name} answered {(int)deleted.StatusCode} to DELETE {url}");
        }
    }

    private static void Report(IngestSettings settings, List<Run> runs)
    {
        var table = new Table("server", "chunk", "MB/s (median)", "MB/s (min)", "MB/s (max)", "CPU s (median)", "CPU s/GB");
        var figures = new Dictionary<string, object>
        {
            ["scenario"] = "ingest",
            ["file_mib"] = settings.FileMiB,
            ["rounds"] = settings.Rounds,
            ["pinning"] = "servers taskset -c 0, tus-js-client taskset -c 1",
            ["measures"] = "upload phase only (origin delay mode, MaxBacklog 0)",
            ["stores"] = settings.Shared ? "file,shared" : "file",
        };
        string[] names = settings.Shared ? ["origin", "origin-s3", "tus-server"] : ["origin", "tus-server"];
        foreach (var chunk in settings.ChunkMiB)
        {
            var medians = new Dictionary<string, double>();
            foreach (var server in names)
            {
                var set = runs.Where(r => r.Server == server && r.ChunkMiB == chunk).ToList();
                var mbps = Median(set.Select(r => r.MegabytesPerSecond));
                var cpu = Median(set.Select(r => r.ServerCpuSeconds));
                medians[server] = mbps;
                var gigabytes = settings.FileMiB * 1.048576 / 1000;
                table.Add(server, $"{chunk} MiB", mbps, set.Min(r => r.MegabytesPerSecond), set.Max(r => r.MegabytesPerSecond), cpu, cpu / gigabytes);
                var key = server switch { "origin" => "ours", "origin-s3" => "shared", _ => "tus" };
                figures[$"{key}_{chunk}mib_mbps"] = Math.Round(mbps, 1);
                figures[$"{key}_{chunk}mib_cpu_s"] = Math.Round(cpu, 2);
            }

            figures[$"ratio_{chunk}mib"] = Math.Round(medians["origin"] / medians["tus-server"], 3);
            if (settings.Shared)
            {
                figures[$"ratio_shared_{chunk}mib"] = Math.Round(medians["origin-s3"] / medians["tus-server"], 3);
            }
        }

        Console.WriteLine();
        Console.Write(table.ToString());
        foreach (var chunk in settings.ChunkMiB)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio origin / @tus/server at {chunk} MiB chunks: {figures[$"ratio_{chunk}mib"]}x"));
            if (settings.Shared)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio origin-s3 (shared store) / @tus/server at {chunk} MiB chunks: {figures[$"ratio_shared_{chunk}mib"]}x"));
            }
        }

        Summary.WriteJsonLine(figures);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<Server> StartOriginAsync(string name, string taskset, string repoRoot, string dataDirectory, string[] settings, CancellationToken cancellationToken)
    {
        var port = NginxServer.FreePort();
        var managementPort = NginxServer.FreePort();
        var process = ChildProcess.Start(taskset,
        [
            "-c", "0", "dotnet", OriginDll(repoRoot),
            "--urls", $"http://127.0.0.1:{port}",
            $"--Management:Url=http://127.0.0.1:{managementPort}",
            $"--Origin:DataDirectory={dataDirectory}",
            "--Origin:Ingest:WhenBacklogged=delay",
            "--Origin:Ingest:MaxBacklog=0",
            "--Origin:Ingest:RequireToken=false",
            "--Logging:LogLevel:Default=Warning",
            .. settings,
        ]);
        var server = new Server(name, process, port);
        try
        {
            await HttpProbe.WaitUntilAsync(process, $"http://127.0.0.1:{managementPort}/healthz", name, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<Server> StartReferenceAsync(string taskset, string node, string nodeDirectory, string storeDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(storeDirectory);
        var port = NginxServer.FreePort();
        var process = ChildProcess.Start(taskset, ["-c", "0", node, Path.Combine(nodeDirectory, "tus-reference-server.js"), "--port", port.ToString(CultureInfo.InvariantCulture), "--directory", storeDirectory]);
        var server = new Server("tus-server", process, port);
        var deadline = Stopwatch.StartNew();
        while (!process.Output.Contains("listening", StringComparison.Ordinal))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                var output = process.Output;
                await server.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"@tus/server did not start:\n{output}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return server;
    }

    private static async Task<long> WriteSourceAsync(string path, int mebibytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        await using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
        for (var i = 0; i < mebibytes; i++)
        {
            RandomNumberGenerator.Fill(buffer);
            await stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        return (long)mebibytes << 20;
    }

    private static string OriginDll(string repoRoot) =>
        Path.Combine(repoRoot, "origin", "OpenConnect.Origin", "bin", "Release", "net10.0", "OpenConnect.Origin.dll");

    private static async Task EnsureOriginBuiltAsync(string repoRoot, CancellationToken cancellationToken)
    {
        Console.WriteLine("building the origin (Release) ...");
        var project = Path.Combine(repoRoot, "origin", "OpenConnect.Origin", "OpenConnect.Origin.csproj");
        var (code, output) = await ChildProcess.RunAsync("dotnet", ["build", "-c", "Release", "-nologo", "-v", "quiet", project], TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
        if (code != 0 || !File.Exists(OriginDll(repoRoot)))
        {
            throw new InvalidOperationException($"dotnet build -c Release of the origin failed (exit {code}):\n{output}");
        }
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "origin", "OpenConnect.Origin", "OpenConnect.Origin.csproj")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new BenchUsageException("cannot find the repository (origin/OpenConnect.Origin) above the current directory; run from the repository");
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/bin", "/usr/bin", "/bin"])
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
}
