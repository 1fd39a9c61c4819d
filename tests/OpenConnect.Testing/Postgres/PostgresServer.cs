namespace OpenConnect.Testing.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster of its own (<c>scripts/postgres.sh</c>: initdb into a temporary
/// directory, 127.0.0.1 and a free port, a password login), for tests that stop, kill or restart the
/// server. Tests that only need a database use <see cref="TestDatabase"/> on the run's shared cluster.
/// Disposing stops the server and deletes its directory; a detached watcher, started before the
/// server, does the same once the test process has ended however it ended (a killed test host, a
/// start that timed out after the server forked), so no postmaster outlives the tests.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(5);
    private readonly string _directory;

    private PostgresServer(string directory, string connectionString)
    {
        _directory = directory;
        ConnectionString = connectionString;
    }

    /// <summary>The Npgsql connection string of the cluster's <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates and starts a cluster in a fresh directory under the system temp directory.</summary>
    public static Task<PostgresServer> StartAsync() => StartAsync(Environment.ProcessId);

    /// <summary>
    /// Creates and starts a cluster that is stopped and deleted once the process
    /// <paramref name="ownerProcessId"/> has ended (this test process, or a child in the watcher's own test).
    /// </summary>
    public static async Task<PostgresServer> StartAsync(int ownerProcessId)
    {
        // The server runs as the postgres user when the tests run as root: its directory's parents
        // must be searchable, which the system temp directory is and a private temp directory is not.
        var directory = Path.Combine(Path.GetTempPath(), $"openconnect-pg-{Guid.NewGuid():N}");
        StopWhenProcessEnds(directory, ownerProcessId);
        try
        {
            var connectionString = await RunScriptAsync("start", directory);
            return new PostgresServer(directory, connectionString.Trim());
        }
        catch
        {
            // A start that failed or timed out may have left a server running in the directory.
            await StopAndDeleteAsync(directory);
            throw;
        }
    }

    /// <summary>The cluster's directory (its data directory is <c>data/</c> inside).</summary>
    public string Directory => _directory;

    /// <summary>The running postmaster's process id (its backends are its children).</summary>
    public int PostmasterPid => int.Parse(File.ReadLines(Path.Combine(_directory, "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Starts the cluster again after <see cref="StopAsync"/> or <see cref="KillAsync"/> (same port and password).</summary>
    public Task RestartAsync() => RunScriptAsync("start", _directory);

    /// <summary>Stops the server (fast shutdown: open sessions are ended).</summary>
    public Task StopAsync() => RunScriptAsync("stop", _directory);

    /// <summary>SIGKILLs the postmaster, as a crash would; the next start recovers from the WAL.</summary>
    public Task KillAsync() => RunScriptAsync("kill", _directory);

    public ValueTask DisposeAsync() => new(StopAndDeleteAsync(_directory));

    private static async Task StopAndDeleteAsync(string directory)
    {
        try
        {
            // A directory without a cluster (a start that failed early) stops as a no-op.
            await RunScriptAsync("stop", directory);
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    /// <summary>
    /// Stops the server in <paramref name="directory"/> and deletes it once the process
    /// <paramref name="ownerProcessId"/> has ended, however it ends (a test host that is killed runs
    /// no exit handler): a detached watcher polls for that process. Started before the server, so a
    /// start interrupted midway is cleaned up too; a stop of a directory already deleted does nothing.
    /// </summary>
    private static void StopWhenProcessEnds(string directory, int ownerProcessId)
    {
        var script = Path.Combine(RepositoryPaths.Root, "scripts", "postgres.sh");
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("setsid")
        {
            ArgumentList =
            {
                "bash", "-c", "exec </dev/null >/dev/null 2>&1; while kill -0 \"$2\" 2>/dev/null; do sleep 1; done; \"$0\" stop \"$1\"; rm -rf \"$1\"",
                script, directory, ownerProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            UseShellExecute = false,
        });
    }

    internal static async Task<string> RunScriptAsync(string command, string directory)
    {
        var script = Path.Combine(RepositoryPaths.Root, "scripts", "postgres.sh");
        var result = await ExternalProcess.RunAsync("bash", [script, command, directory], ScriptTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/postgres.sh {command} failed ({result.ExitCode}): {result.StandardError}{result.StandardOutput}");
        }

        return result.StandardOutput;
    }
}
