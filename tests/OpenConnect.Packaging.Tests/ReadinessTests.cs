using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>
/// The packaged steering program, started the way its unit starts it (the packaged configuration,
/// <c>NOTIFY_SOCKET</c> and <c>JOURNAL_STREAM</c> set) with test ports and a test data directory:
/// readiness on a real datagram socket, SIGHUP (RELOADING=1, READY=1), STOPPING=1 and journald's log format.
/// </summary>
[Collection(SteeringPackageCollection.Name)]
public sealed class ReadinessTests(SteeringPackage package)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task PackagedRole_SendsReady_OnceItsListenersAnswer_ThenSurvivesSighup_AndSendsStopping()
    {
        using var directory = new TempDirectory("openconnect-notify");
        var socketPath = directory.Combine("notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        await using var role = Start(directory, socketPath, journal: true);
        Assert.Equal("READY=1", await role.ReceiveAsync(socket, StartTimeout));

        // READY=1 came after the listeners opened: they answer at once, no retry.
        using var management = new HttpClient { BaseAddress = role.ManagementAddress, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode);
        using var data = new HttpClient { BaseAddress = role.DataAddress, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/healthz")).StatusCode);

        // openconnect_build_info carries the version --version prints.
        var metrics = PrometheusText.Parse(await management.GetStringAsync("/metrics"));
        var buildInfo = Assert.Single(metrics.Families["openconnect_build_info"].Samples);
        Assert.Equal(package.GitVersion, buildInfo.Labels["version"]);
        Assert.Equal("steering", buildInfo.Labels["role"]);

        // systemctl reload: RELOADING=1 with the monotonic time, the configuration read again, READY=1; the process keeps serving.
        await role.SignalAsync("HUP");
        var reloading = await role.ReceiveAsync(socket, TimeSpan.FromSeconds(30));
        Assert.Matches(@"^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*$", reloading);
        Assert.Equal("READY=1", await role.ReceiveAsync(socket, TimeSpan.FromSeconds(30)));
        await role.WaitForLineAsync(l => l.Contains("reload applied:", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.False(role.HasExited);
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode);

        // systemctl stop: STOPPING=1, then a clean exit.
        await role.SignalAsync("TERM");
        Assert.Equal("STOPPING=1", await role.ReceiveAsync(socket, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await role.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // Under journald (JOURNAL_STREAM naming stdout) each line starts with its syslog priority.
        var lines = role.Output;
        Assert.Contains(lines, l => l.StartsWith("<6>", StringComparison.Ordinal) && l.Contains("management listening on", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("<6>", StringComparison.Ordinal) && l.Contains("SIGHUP received", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Press Ctrl+C", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotifySocketThatIsGone_IsLogged_AndTheRoleStillStarts()
    {
        using var directory = new TempDirectory("openconnect-notify");
        // JOURNAL_STREAM inherited from a parent whose stdout was the journal: ours is not.
        await using var role = Start(directory, directory.Combine("nobody-listens.sock"), journal: false);
        await role.WaitForLineAsync(l => l.Contains("cannot notify the service manager (READY=1)", StringComparison.Ordinal), StartTimeout);
        using var management = new HttpClient { BaseAddress = role.ManagementAddress, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode);
        Assert.Contains(role.Output, l => l.Contains(" warn: OpenConnect.Hosting.Systemd", StringComparison.Ordinal) && !l.StartsWith('<'));
    }

    /// <param name="directory">The working directory; the data directory goes below it.</param>
    /// <param name="notifySocket">NOTIFY_SOCKET.</param>
    /// <param name="journal">
    /// Set JOURNAL_STREAM to the inode of the program's stdout, as systemd does for a service logging
    /// to the journal (a shell looks it up, then execs the program); otherwise to another stream's.
    /// </param>
    private Started Start(TempDirectory directory, string notifySocket, bool journal)
    {
        var port = FreePort();
        var managementPort = FreePort();
        var program = package.InRoot("/usr/bin/openconnect-steering");
        // systemd starts a service with every signal at its default; a test host started in the
        // background by a non-interactive shell (nohup … &) would hand SIGHUP down ignored instead.
        var startInfo = new ProcessStartInfo("env")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory.Path,
        };
        startInfo.ArgumentList.Add("--default-signal=HUP,INT,QUIT,TERM");
        if (!journal)
        {
            startInfo.ArgumentList.Add(program);
        }
        else
        {
            startInfo.ArgumentList.Add("/bin/sh");
            startInfo.ArgumentList.Add("-c");
            startInfo.ArgumentList.Add("JOURNAL_STREAM=0:$(stat -L -c %i /proc/$$/fd/1) exec \"$0\" \"$@\"");
            startInfo.ArgumentList.Add(program);
        }

        foreach (var argument in new[]
        {
            "--config", package.InRoot("/etc/openconnect/steering.json"),
            "--urls", $"http://127.0.0.1:{port}",
            $"--Management:Url=http://127.0.0.1:{managementPort}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:DataDirectory={directory.Combine("state")}",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["NOTIFY_SOCKET"] = notifySocket;
        startInfo.Environment["JOURNAL_STREAM"] = "8:12345";
        startInfo.Environment.Remove("Logging__Console__FormatterName");
        return new Started(Process.Start(startInfo)!, new Uri($"http://127.0.0.1:{port}"), new Uri($"http://127.0.0.1:{managementPort}"));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The running program, its output lines, and the notifications it sent.</summary>
    private sealed class Started : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        public Started(Process process, Uri dataAddress, Uri managementAddress)
        {
            _process = process;
            DataAddress = dataAddress;
            ManagementAddress = managementAddress;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Uri DataAddress { get; }

        public Uri ManagementAddress { get; }

        public bool HasExited => _process.HasExited;

        public IReadOnlyList<string> Output => [.. _output];

        /// <summary>The next datagram on the notify socket; fails if the program exits or the time runs out first.</summary>
        public async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            var buffer = new byte[4096];
            var receive = socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token).AsTask();
            var exited = _process.WaitForExitAsync(cancel.Token);
            var first = await Task.WhenAny(receive, exited);
            if (first == receive && receive.IsCompletedSuccessfully)
            {
                return Encoding.UTF8.GetString(buffer, 0, receive.Result).TrimEnd('\n');
            }

            await cancel.CancelAsync();
            var why = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"sent nothing within {timeout}";
            throw new Xunit.Sdk.XunitException($"the program {why}:\n{string.Join('\n', _output)}");
        }

        public async Task WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!_output.Any(match))
            {
                if (DateTime.UtcNow > deadline || _process.HasExited)
                {
                    throw new Xunit.Sdk.XunitException($"no such line within {timeout} (exited: {_process.HasExited}):\n{string.Join('\n', _output)}");
                }

                await Task.Delay(100);
            }
        }

        public async Task SignalAsync(string signal)
        {
            var result = await Packaging.RunAsync("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.Equal(0, result.ExitCode);
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cancel.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
