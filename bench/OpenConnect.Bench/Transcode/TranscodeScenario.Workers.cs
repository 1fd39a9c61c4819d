using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Bench.Transcode;

/// <summary>
/// <c>bench transcode --workers N</c>: the pipeline with its encodes done by N worker processes
/// (<c>Origin:Role=worker</c>) on one PostgreSQL job store and one object store, beside one worker
/// and the single ffmpeg command. The coordinating origin runs in this process with
/// <c>EncodeInProcess=false</c>; with <c>--store s3</c> (s3rver) every worker has its own data
/// directory and the source and chunk outputs go through the bucket's work prefix.
/// </summary>
public sealed partial class TranscodeScenario
{
    /// <summary>The workers mode's settings: how many workers, through the bucket or a shared directory, encodes per worker.</summary>
    private sealed record WorkerRuns(int Count, bool S3, int Slots);

    private sealed record FleetRun(int Workers, double TranscodeToPackage, double EndToEnd, double SourceBytesPut, double SourceBytesGot, double ChunkBytesPut, double ChunkBytesGot);

    private const string Bucket = "bench-transcode";

    private async Task<int> RunWorkersAsync(string work, int seconds, int height, string? cpus, WorkerRuns runs, CancellationToken cancellationToken)
    {
        var (source, width) = await GenerateSourceAsync(work, seconds, height, cpus, cancellationToken);
        var options = new PipelineOptions();
        var rungs = Ladder.For(width, height, options);
        var storeName = runs.S3 ? "s3 (s3rver)" : "local (shared data directory)";
        Console.WriteLine($"ladder: {string.Join(", ", rungs.Select(r => $"{r.Name} {r.Width}x{r.FrameHeight}"))}; {options.ChunkSeconds} s chunks; {Environment.ProcessorCount} CPUs{(cpus is null ? "" : $" ({cpus})")}; store {storeName}; {runs.Slots} encode(s) per worker");
        Console.WriteLine("starting PostgreSQL (scripts/postgres.sh) …");
        await using var postgres = await PostgresServer.StartAsync();
        await using var s3 = runs.S3 ? await S3rver.StartAsync(Bucket) : null;

        var fleet = new List<FleetRun>();
        foreach (var workers in runs.Count == 1 ? [1] : new[] { 1, runs.Count })
        {
            fleet.Add(await RunFleetAsync(work, source, workers, runs, postgres, s3, cpus, cancellationToken));
        }

        var single = await RunSingleCommandAsync(work, source, rungs, options, cpus, cancellationToken);
        var one = fleet[0];
        var many = fleet[^1];

        Console.WriteLine();
        var table = new Table("run", "wall s", "x realtime", "end to end s", "MB via bucket", "notes");
        table.Add("single ffmpeg command (split, dash muxer)", Math.Round(single.Wall, 2), Math.Round(seconds / single.Wall, 3), "-", "-", "decode once, encode all rungs, package");
        foreach (var run in fleet)
        {
            var moved = (run.SourceBytesPut + run.SourceBytesGot + run.ChunkBytesPut + run.ChunkBytesGot) / 1e6;
            table.Add(
                $"ours, {run.Workers} worker process{(run.Workers == 1 ? "" : "es")} × {runs.Slots} encode(s), transcode to package",
                Math.Round(run.TranscodeToPackage, 2),
                Math.Round(seconds / run.TranscodeToPackage, 3),
                run.EndToEnd.ToString("F2", CultureInfo.InvariantCulture),
                runs.S3 ? moved.ToString("F1", CultureInfo.InvariantCulture) : "-",
                runs.S3 ? $"source got {run.SourceBytesGot / run.SourceBytesPut:F0}x, chunks {run.ChunkBytesPut / 1e6:F1} MB up and down" : "shared data directory");
        }

        Console.Write(table);
        var speedup = one.TranscodeToPackage / many.TranscodeToPackage;
        var ratio = single.Wall / many.TranscodeToPackage;
        Console.WriteLine($"{many.Workers} workers against 1: speedup {speedup:F3}x; single command / ours with {many.Workers} workers (transcode to package) = {ratio:F3}, end to end {single.Wall / many.EndToEnd:F3}");
        Summary.WriteJsonLine(new
        {
            scenario = Name,
            mode = "workers",
            source_seconds = seconds,
            source = $"{width}x{height}",
            source_bytes = new FileInfo(source).Length,
            cpus = cpus ?? "all",
            processor_count = Environment.ProcessorCount,
            store = runs.S3 ? "s3" : "local",
            workers = many.Workers,
            encodes_per_worker = runs.Slots,
            chunk_seconds = options.ChunkSeconds,
            single_command_wall_s = Math.Round(single.Wall, 3),
            one_worker_transcode_to_package_wall_s = Math.Round(one.TranscodeToPackage, 3),
            one_worker_end_to_end_wall_s = Math.Round(one.EndToEnd, 3),
            workers_transcode_to_package_wall_s = Math.Round(many.TranscodeToPackage, 3),
            workers_end_to_end_wall_s = Math.Round(many.EndToEnd, 3),
            workers_over_one_speedup_ratio = Math.Round(speedup, 3),
            single_command_over_workers_ratio = Math.Round(ratio, 3),
            single_command_over_workers_end_to_end_ratio = Math.Round(single.Wall / many.EndToEnd, 3),
            workers_bytes_source_put = many.SourceBytesPut,
            workers_bytes_source_get = many.SourceBytesGot,
            workers_bytes_chunks_put = many.ChunkBytesPut,
            workers_bytes_chunks_get = many.ChunkBytesGot,
        });
        return 0;
    }

    /// <summary>One title through a coordinating origin (here) and <paramref name="workers"/> worker processes, on a fresh database and bucket prefix.</summary>
    private static async Task<FleetRun> RunFleetAsync(string work, string source, int workers, WorkerRuns runs, PostgresServer postgres, S3rver? s3, string? cpus, CancellationToken cancellationToken)
    {
        var label = string.Create(CultureInfo.InvariantCulture, $"workers-{workers}");
        var data = Path.Combine(work, label, "coordinator");
        Directory.CreateDirectory(Path.Combine(data, "uploads"));
        var upload = Path.Combine(data, "uploads", "source.mp4");
        File.Copy(source, upload);
        await using var database = await TestDatabase.CreateOnAsync(postgres.ConnectionString);
        string[] common =
        [
            "--Origin:Pipeline:Database:Provider=PostgreSql",
            $"--Origin:Pipeline:Database:ConnectionString={database.ConnectionString}",
            "--Origin:Pipeline:Ladder=fixed",
            "--Origin:Pipeline:ChunkPollInterval=00:00:00.2",
            "--Logging:LogLevel:Default=Warning",
            .. s3?.OriginSettings(Bucket, $"--Origin:Storage:S3:Prefix={label}") ?? [],
        ];

        Console.WriteLine($"{label}: {workers} worker process(es), {runs.Slots} encode(s) each …");
        var processes = new List<RoleProcess>();
        var app = OriginHost.Build(["--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", $"--Origin:DataDirectory={data}", "--Origin:Pipeline:EncodeInProcess=false", .. common]);
        await app.StartAsync(cancellationToken);
        try
        {
            for (var i = 1; i <= workers; i++)
            {
                // Through the bucket each worker has a data directory of its own, as on another host.
                var workerData = s3 is null ? data : Path.Combine(work, label, string.Create(CultureInfo.InvariantCulture, $"worker-{i}"));
                processes.Add(await RoleProcess.StartAsync(
                    "worker",
                    typeof(OriginHost).Assembly.Location,
                    cpus is null ? null : ["taskset", "-c", cpus],
                    [.. common, "--Origin:Role=worker", $"--Origin:DataDirectory={workerData}", string.Create(CultureInfo.InvariantCulture, $"--Origin:Pipeline:MaxParallelEncodes={runs.Slots}")]));
            }

            var (_, transcodeToPackage, endToEnd) = await PublishAsync(app, label, upload, cancellationToken);
            var coordinator = app.Services.GetRequiredService<PipelineMetrics>().WorkObjectBytes;
            double sourceGot = 0, chunksPut = 0;
            foreach (var process in processes)
            {
                var metrics = await process.MetricsAsync();
                sourceGot += metrics.Value("openconnect_origin_pipeline_work_object_bytes_total", ("direction", "get"), ("object", "source")) ?? 0;
                chunksPut += metrics.Value("openconnect_origin_pipeline_work_object_bytes_total", ("direction", "put"), ("object", "chunk")) ?? 0;
            }

            return new FleetRun(workers, transcodeToPackage, endToEnd, coordinator.WithLabels("put", "source").Value, sourceGot, chunksPut, coordinator.WithLabels("get", "chunk").Value);
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }
}
