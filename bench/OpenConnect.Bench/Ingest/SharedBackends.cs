using System.Diagnostics;
using System.Globalization;
using OpenConnect.Bench.Throughput;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Bench.Ingest;

/// <summary>
/// What an origin with <c>Origin:Ingest:Store=Shared</c> needs, for the bench: a throwaway
/// PostgreSQL cluster (scripts/postgres.sh) with a fresh database, and s3rver (an S3 emulator,
/// tests/node/s3rver.js) with one bucket, both pinned to core 0 beside the servers.
/// </summary>
internal sealed class SharedBackends : IAsyncDisposable
{
    private const string Bucket = "bench-ingest";
    private readonly PostgresServer _postgres;
    private readonly ChildProcess _s3rver;

    private SharedBackends(PostgresServer postgres, ChildProcess s3rver, string[] originSettings)
    {
        _postgres = postgres;
        _s3rver = s3rver;
        OriginSettings = originSettings;
    }

    /// <summary>The origin's settings for the shared store on these backends.</summary>
    public string[] OriginSettings { get; }

    public static async Task<SharedBackends> StartAsync(string taskset, string node, string nodeDirectory, string directory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Path.Combine(nodeDirectory, "node_modules", "s3rver")))
        {
            throw new BenchUsageException($"s3rver is not installed: run 'npm ci' in {nodeDirectory}");
        }

        Directory.CreateDirectory(Path.Combine(directory, "s3"));
        var secretFile = Path.Combine(directory, "s3-secret");
        await File.WriteAllTextAsync(secretFile, "S3RVER\n", cancellationToken).ConfigureAwait(false);
        var postgres = await PostgresServer.StartAsync().ConfigureAwait(false);
        ChildProcess? s3rver = null;
        try
        {
            await ChildProcess.RunAsync(taskset, ["-a", "-c", "-p", "0", postgres.PostmasterPid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            var database = await TestDatabase.CreateOnAsync(postgres.ConnectionString).ConfigureAwait(false);
            s3rver = ChildProcess.Start(taskset, ["-c", "0", node, Path.Combine(nodeDirectory, "s3rver.js"), Path.Combine(directory, "s3"), Bucket]);
            var port = await PortAsync(s3rver, cancellationToken).ConfigureAwait(false);
            return new SharedBackends(postgres, s3rver,
            [
                "--Origin:Storage:Kind=S3",
                $"--Origin:Storage:S3:ServiceUrl=http://127.0.0.1:{port}",
                $"--Origin:Storage:S3:Bucket={Bucket}",
                "--Origin:Storage:S3:AccessKey=S3RVER",
                $"--Origin:Storage:S3:SecretKeyFile={secretFile}",
                "--Origin:Pipeline:Database:Provider=PostgreSql",
                $"--Origin:Pipeline:Database:ConnectionString={database.ConnectionString}",
                "--Origin:Ingest:Store=Shared",
            ]);
        }
        catch
        {
            if (s3rver is not null)
            {
                await s3rver.DisposeAsync().ConfigureAwait(false);
            }

            await postgres.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _s3rver.DisposeAsync().ConfigureAwait(false);
        await _postgres.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>s3rver prints its port as its first line once it accepts connections.</summary>
    private static async Task<int> PortAsync(ChildProcess s3rver, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var first = s3rver.Output.Split('\n')[0].Trim();
            if (s3rver.Output.Contains('\n') && int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                return port;
            }

            if (s3rver.HasExited || waited.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"s3rver did not start:\n{s3rver.Output}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }
}
