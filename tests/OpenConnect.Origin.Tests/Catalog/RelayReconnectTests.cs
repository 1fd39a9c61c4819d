using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Publishing;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>
/// The catalog relay's LISTEN connection of one origin instance ended by the server, or gone silent
/// (no reply and no reset, as after a host crash or a NAT timeout): a change another instance makes
/// afterwards still reaches it.
/// </summary>
public sealed class RelayReconnectTests
{
    [Fact]
    public async Task AfterItsBackendIsTerminated_OrItsConnectionGoesSilent_TheRelayHearsTheOtherInstanceAgain()
    {
        await using var database = await TestDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = await SilenceableProxy.StartAsync(direct.Host!, direct.Port);
        // B reaches PostgreSQL through the proxy, one connection per use, so only its long-lived LISTEN connection is silenced.
        var throughProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false };
        await using var a = await CatalogOrigin.StartAsync(CatalogOrigin.PostgresSettings(database.ConnectionString));
        using var dataB = new TempDirectory("oc-relay-b");
        await using var b = await RunningRole.StartAsync(
            args => OriginHost.Build(args, s => s.AddSingleton(new CatalogRelayTiming(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)))),
            [$"--Origin:DataDirectory={dataB.Path}", .. CatalogOrigin.FastSettings, .. CatalogOrigin.PostgresSettings(throughProxy.ConnectionString)]);
        var onA = a.Role.Services.GetRequiredService<TitleTakedowns>();
        var onB = b.Services.GetRequiredService<TitleTakedowns>();

        var first = await RelayBackendAsync(database, null);
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", connection);
            terminate.Parameters.AddWithValue("pid", first);
            Assert.True((bool)(await terminate.ExecuteScalarAsync())!);
        }

        await RelayBackendAsync(database, first);
        onA.TakeDown("after-terminate", TitleTakedowns.Unpublished);
        await EventuallyAsync(() => onB.IsTakenDown("after-terminate"), "B did not hear of A's takedown after its LISTEN backend was terminated");

        // Silenced: the LISTEN connection stays open but nothing passes either way any more.
        proxy.SilenceOpenConnections();
        onA.TakeDown("after-silence", TitleTakedowns.Unpublished);
        await EventuallyAsync(() => onB.IsTakenDown("after-silence"), "B did not hear of A's takedown after its LISTEN connection went silent");
    }

    /// <summary>The pid of the relay's listening backend, once there is one other than <paramref name="not"/>.</summary>
    private static async Task<int> RelayBackendAsync(TestDatabase database, int? not)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            await using var command = new NpgsqlCommand(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = @name AND pid <> @not", connection);
            command.Parameters.AddWithValue("name", PostgresCatalogRelay.ApplicationName);
            command.Parameters.AddWithValue("not", not ?? 0);
            if (await command.ExecuteScalarAsync() is int pid)
            {
                return pid;
            }

            Assert.True(DateTime.UtcNow < deadline, "the relay did not listen within 20 s");
            await Task.Delay(50);
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure + " within 30 s");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A TCP proxy on 127.0.0.1 to PostgreSQL that can silence the connections open now: from then on
    /// it forwards nothing on them and closes nothing (a dead peer without a reset). Later connections pass.
    /// </summary>
    private sealed class SilenceableProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly IPEndPoint _target;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<(TcpClient Client, TcpClient Server, CancellationTokenSource Silence)> _open = [];
        private readonly Task _accepting;

        private SilenceableProxy(TcpListener listener, IPEndPoint target)
        {
            _listener = listener;
            _target = target;
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static async Task<SilenceableProxy> StartAsync(string host, int port)
        {
            var addresses = await Dns.GetHostAddressesAsync(host);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new SilenceableProxy(listener, new IPEndPoint(addresses.First(a => a.AddressFamily == AddressFamily.InterNetwork), port));
        }

        public void SilenceOpenConnections()
        {
            lock (_open)
            {
                foreach (var (_, _, silence) in _open)
                {
                    silence.Cancel();
                }
            }
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                var server = new TcpClient();
                try
                {
                    await server.ConnectAsync(_target, _stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException)
                {
                    client.Dispose();
                    server.Dispose();
                    continue;
                }

                var silence = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                lock (_open)
                {
                    _open.Add((client, server, silence));
                }

                _ = PumpAsync(client.GetStream(), server.GetStream(), silence.Token);
                _ = PumpAsync(server.GetStream(), client.GetStream(), silence.Token);
            }
        }

        /// <summary>Copies until either side ends; once silenced it stops copying but leaves both sockets open.</summary>
        private static async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken silence)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var read = await from.ReadAsync(buffer, silence);
                    if (read == 0)
                    {
                        to.Socket.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await to.WriteAsync(buffer.AsMemory(0, read), silence);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // Silenced, or one side ended: nothing more is forwarded.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _accepting;
            lock (_open)
            {
                foreach (var (client, server, silence) in _open)
                {
                    client.Dispose();
                    server.Dispose();
                    silence.Dispose();
                }
            }

            _stop.Dispose();
        }
    }
}
