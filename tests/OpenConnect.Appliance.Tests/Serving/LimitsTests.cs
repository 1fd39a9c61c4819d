using System.Net.Sockets;
using System.Text;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>Slow readers and connection floods are cut off.</summary>
public class LimitsTests : TransportTests
{
    [Fact]
    public async Task ClientReadingSlowerThanTheMinimumRate_IsCutOff()
    {
        await using var h = await StartAsync(
            "--Appliance:Limits:MinResponseBytesPerSecond=10000000",
            "--Appliance:Limits:MinResponseRateGrace=00:00:01",
            "--Appliance:Limits:SendBufferBytes=65536");
        var body = ApplianceHarness.RandomBytes(16_000_000, 31);
        h.Parent.Put("/v/slow/1080p/seg-1.m4s", body);

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8192 };
        await socket.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /v/slow/1080p/seg-1.m4s HTTP/1.1\r\nHost: a\r\n\r\n"));

        // Read nothing for longer than grace + 16 MB at 10 MB/s allows.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await AssertCutOffAsync(new NetworkStream(socket), body.Length);
    }

    [Fact]
    public async Task ConnectionsBeyondTheCap_AreRefused()
    {
        await using var h = await StartAsync("--Appliance:Limits:MaxConnections=2");
        h.Parent.Put("/v/cap/master.m3u8", "#EXTM3U\n"u8.ToArray());
        using var first = await h.ConnectAsync();
        using var second = await h.ConnectAsync();
        await first.SendAsync("GET /v/cap/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, (await first.ReadResponseAsync()).Status);

        using var third = await h.ConnectAsync();
        await third.SendAsync("GET /v/cap/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.True(await third.IsClosedByServerAsync(TimeSpan.FromSeconds(5)), "a third connection was served with a cap of 2");

        await second.SendAsync("GET /v/cap/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, (await second.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task ConnectionsFromOneAddressBeyondItsCap_Get503AndAreClosed_AndAPlaceFreesWhenOneCloses()
    {
        await using var h = await StartAsync("--Appliance:Limits:MaxConnectionsPerClient=2");
        h.Parent.Put("/v/cap/master.m3u8", "#EXTM3U\n"u8.ToArray());
        var first = await h.ConnectAsync();
        using var second = await h.ConnectAsync();
        await first.SendAsync("GET /v/cap/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, (await first.ReadResponseAsync()).Status);
        await second.SendAsync("GET /v/cap/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, (await second.ReadResponseAsync()).Status);

        using (var third = await h.ConnectAsync())
        {
            // Answered at once, before any request: the server reads none from a refused connection.
            var refused = await third.ReadResponseAsync();
            Assert.Equal(503, refused.Status);
            Assert.Contains("too many connections from this address", refused.Text);
            Assert.True(await third.IsClosedByServerAsync(TimeSpan.FromSeconds(5)), "the refused connection stayed open");
        }

        first.Dispose();
        var served = false;
        for (var i = 0; i < 50 && !served; i++)
        {
            await Task.Delay(100);
            using var next = await h.ConnectAsync();
            await next.SendAsync("GET /v/cap/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
            served = (await next.ReadResponseAsync()).Status == 200;
        }

        Assert.True(served, "no place freed after a connection from the address closed");

        // (The metrics request is a connection from the same address: one place is free for it now.)
        Assert.Equal(1, await h.MetricAsync("openconnect_appliance_connections_refused_total"));
    }

    [Fact]
    public async Task AConnectionThatNeverSendsARequest_IsClosedAfterTheFirstRequestTimeout_NotTheKeepAliveOne()
    {
        await using var h = await StartAsync(
            "--Appliance:Limits:FirstRequestTimeout=00:00:01",
            "--Appliance:Limits:KeepAliveTimeout=00:01:00");
        h.Parent.Put("/v/idle/master.m3u8", "#EXTM3U\n"u8.ToArray());
        using var silent = await h.ConnectAsync();
        using var player = await h.ConnectAsync();
        await player.SendAsync("GET /v/idle/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, (await player.ReadResponseAsync()).Status);

        Assert.True(await silent.IsClosedByServerAsync(TimeSpan.FromSeconds(5)), "a connection that sent nothing was kept open");

        // The player's connection is idle between requests: the keep-alive timeout (a minute) applies.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await player.SendAsync("GET /v/idle/master.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, (await player.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task ACutThroughMissFedByASlowButProgressingParent_IsNotCutOff()
    {
        // Grace 1 s and 500 kB/s: a deadline that ignored the bytes already sent and the time spent waiting
        // for the parent would cut this 2 MB response about 1.5 s in, while the parent still trickles.
        await using var h = await StartAsync(
            "--Appliance:Limits:MinResponseBytesPerSecond=500000",
            "--Appliance:Limits:MinResponseRateGrace=00:00:01",
            "--Appliance:Limits:SendBufferBytes=16384");
        var body = ApplianceHarness.RandomBytes(2_000_000, 61);
        h.Parent.Put("/v/trickle/1080p/seg-1.m4s", body);
        h.Parent.ChunkBytes = 256 * 1024;
        h.Parent.ChunkDelay = TimeSpan.FromMilliseconds(300);

        // The client reads steadily at about 1.6 MB/s, well above the minimum rate.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8192 };
        await socket.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /v/trickle/1080p/seg-1.m4s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
        var received = await ReadAllPacedAsync(socket, TimeSpan.FromSeconds(30));

        var text = Encoding.Latin1.GetString(received);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", text);
        Assert.Equal(body.Length, received.Length - headEnd - 4);
        Assert.Equal(body, received.AsSpan(headEnd + 4).ToArray());
    }

    [Fact]
    public async Task ACutThroughMissWhoseParentStalls_IsCutOff()
    {
        await using var h = await StartAsync("--Appliance:Upstream:IdleReadTimeout=00:00:01");
        var body = ApplianceHarness.RandomBytes(1_000_000, 62);
        h.Parent.Put("/v/stall/1080p/seg-1.m4s", body);
        h.Parent.ChunkBytes = 100_000;
        h.Parent.ChunkDelay = TimeSpan.FromSeconds(20);

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /v/stall/1080p/seg-1.m4s HTTP/1.1\r\nHost: a\r\n\r\n"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var received = await ReadAllPacedAsync(socket, TimeSpan.FromSeconds(15));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the stalled transfer was cut only after {clock.Elapsed}");
        Assert.True(received.Length < body.Length, $"received {received.Length} bytes of a {body.Length}-byte body from a stalled parent");
    }

    /// <summary>
    /// Reads until the server closes, at about 1.6 MB/s (it sleeps only while ahead of that rate: a fixed
    /// sleep per read paced by the 8 KiB receive buffer and the timer's granularity fell to about the
    /// 500 kB/s minimum); fails if the connection is still open after <paramref name="within"/>.
    /// </summary>
    private static async Task<byte[]> ReadAllPacedAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var all = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                all.Write(buffer, 0, n);
                var ahead = TimeSpan.FromSeconds(all.Length / 1_600_000.0) - clock.Elapsed;
                if (ahead > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(ahead, timeout.Token);
                }
            }
        }
        catch (SocketException)
        {
            // A reset ends the response as a close does.
        }

        Assert.False(timeout.IsCancellationRequested, "the connection was neither finished nor closed in time");
        return all.ToArray();
    }

    /// <summary>
    /// Reads what a stalled client's connection still delivers: the server must close it within 20 s and
    /// before the whole body of <paramref name="bodyLength"/> bytes got through.
    /// </summary>
    internal static async Task AssertCutOffAsync(Stream connection, long bodyLength)
    {
        var received = 0L;
        var buffer = new byte[1 << 16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                var n = await connection.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received += n;
            }
        }
        catch (IOException)
        {
            // A reset is as good as a close here.
        }

        Assert.False(timeout.IsCancellationRequested, "the server kept the stalled connection open");
        Assert.True(received < bodyLength, $"received {received} of {bodyLength} bytes: the slow client was not cut off");
    }
}
