using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Testing;

/// <summary>
/// A real DNS server on loopback (dnsmasq, Debian package <c>dnsmasq-base</c>) answering SRV and
/// address records given at start, on a free UDP/TCP port, for service-discovery tests.
/// </summary>
public sealed class Dnsmasq : IAsyncDisposable
{
    public const string Executable = "/usr/sbin/dnsmasq";

    private readonly Process _process;
    private readonly List<string> _log;

    private Dnsmasq(Process process, int port, List<string> log)
    {
        _process = process;
        Port = port;
        _log = log;
    }

    public int Port { get; }

    /// <summary>The server as <c>host:port</c>, the form the roles' <c>DnsServer</c> settings take.</summary>
    public string Server => $"127.0.0.1:{Port}";

    /// <summary>An SRV record: <paramref name="name"/> → <paramref name="target"/>:<paramref name="port"/>.</summary>
    public static string Srv(string name, string target, int port, int priority = 0, int weight = 10) =>
        $"--srv-host={name},{target},{port},{priority},{weight}";

    /// <summary>An address record.</summary>
    public static string Host(string name, string address) => $"--host-record={name},{address}";

    /// <summary>Starts dnsmasq with the given records and waits until it answers on its port.</summary>
    public static async Task<Dnsmasq> StartAsync(params string[] records)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: install the Debian package dnsmasq-base (test.sh does)");
        }

        for (var attempt = 0; ; attempt++)
        {
            var port = FreeUdpPort();
            var startInfo = new ProcessStartInfo(Executable)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            string[] args =
            [
                "--no-daemon", $"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--pid-file=", "--log-facility=-", "--conf-file=/dev/null",
                .. records,
            ];
            foreach (var arg in args)
            {
                startInfo.ArgumentList.Add(arg);
            }

            var log = new List<string>();
            var process = Process.Start(startInfo)!;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.Add(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.Add(e.Data); } } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new Dnsmasq(process, port, log);
            if (await server.WaitListeningAsync())
            {
                return server;
            }

            await server.DisposeAsync();
            if (attempt == 2)
            {
                throw new InvalidOperationException("dnsmasq did not start: " + string.Join('\n', log));
            }
        }
    }

    private async Task<bool> WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                // dnsmasq listens on TCP as well; a connect means it is ready to answer.
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }
}
