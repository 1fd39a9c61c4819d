using System.Diagnostics;
using System.Globalization;

namespace OpenConnect.Testing;

/// <summary>
/// s3rver (npm, an S3 emulator; <c>tests/node/s3rver.js</c>) on 127.0.0.1 on a free port, its data in
/// a fresh temporary directory; stopped and the directory deleted on dispose. It knows one key pair,
/// <see cref="AccessKey"/> / <see cref="SecretKey"/>, and refuses other access keys, but does not
/// verify SigV4 signatures (s3rver leaves that unimplemented).
/// </summary>
public sealed class S3rver : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly List<string> _errors = [];

    private S3rver(Process process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    /// <summary>Where s3rver keeps buckets and objects (one directory per bucket).</summary>
    public string DataDirectory => _directory.Combine("data");

    /// <summary>A file holding <see cref="SecretKey"/>, for <c>SecretKeyFile</c> settings.</summary>
    public string SecretKeyFile => _directory.Combine("secret-key");

    /// <summary>What s3rver wrote to standard error.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join('\n', _errors);
            }
        }
    }

    /// <summary>Starts s3rver with <paramref name="buckets"/> created and waits for its port.</summary>
    public static async Task<S3rver> StartAsync(params string[] buckets)
    {
        var node = Path.Combine(RepositoryPaths.Root, "tests", "node");
        if (!Directory.Exists(Path.Combine(node, "node_modules", "s3rver")))
        {
            throw new InvalidOperationException("tests/node/node_modules/s3rver is missing: run (cd tests/node && npm ci) (./test.sh does)");
        }

        var directory = new TempDirectory("oc-s3rver");
        Directory.CreateDirectory(directory.Combine("data"));
        await File.WriteAllTextAsync(directory.Combine("secret-key"), SecretKey + "\n");
        var startInfo = new ProcessStartInfo("node")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = node,
        };
        foreach (var argument in (string[])[Path.Combine(node, "s3rver.js"), directory.Combine("data"), .. buckets])
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start node");
        }
        catch
        {
            directory.Dispose();
            throw;
        }

        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Not started in time: stop node and delete its directory before reporting it.
            await new S3rver(process, directory, 0).DisposeAsync();
            throw new TimeoutException("s3rver did not print its port within 60 s");
        }

        var server = new S3rver(process, directory, int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 0);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (server._errors)
                {
                    server._errors.Add(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        if (server.Port == 0)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"s3rver did not print its port (got '{line}'): {server.Errors}");
        }

        return server;
    }

    /// <summary>Origin settings that keep published titles in <paramref name="bucket"/> here.</summary>
    public string[] OriginSettings(string bucket, params string[] more) =>
    [
        "--Origin:Storage:Kind=S3",
        $"--Origin:Storage:S3:ServiceUrl={ServiceUrl}",
        $"--Origin:Storage:S3:Bucket={bucket}",
        $"--Origin:Storage:S3:AccessKey={AccessKey}",
        $"--Origin:Storage:S3:SecretKeyFile={SecretKeyFile}",
        .. more,
    ];

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // Closing standard input is s3rver.js's signal to stop; kill it if it does not.
                _process.StandardInput.Close();
                try
                {
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _process.Dispose();
            _directory.Dispose();
        }
    }
}
