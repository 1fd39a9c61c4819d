using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Serving.Epoll;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// What the epoll transport must do beyond the shared serving suites (<see cref="EpollTransportSuites"/>):
/// it takes exactly the plaintext data listeners, holds many connections at once, answers pipelined
/// requests in order, finishes a response to a client that half-closed, frees an aborted connection and
/// accepts again under the connection cap; a socket that has sent nothing waits on the transport (not yet a
/// Kestrel connection) and still counts against both connection caps.
/// </summary>
public sealed class EpollTransportTests
{
    private const string Segment = "/v/ep/720p/seg-00001.m4s";
    private const string Playlist = "/v/ep/master.m3u8";

    private static string Get(string path, string extra = "") => $"GET {path} HTTP/1.1\r\nHost: a\r\n{extra}\r\n";

    private static Task<ApplianceHarness> StartAsync(params string[] settings) => ApplianceHarness.StartAsync([.. settings, EpollTransportSuites.Epoll]);

    private static EpollTransportFactory Factory(ApplianceHarness h) => h.Appliance.Services.GetRequiredService<EpollTransportFactory>();

    /// <summary>Fetches <see cref="Segment"/> once, so the next request for it is a RAM hit.</summary>
    private static async Task WarmAsync(ApplianceHarness h, byte[] body)
    {
        using var warm = await h.ConnectAsync();
        await warm.SendAsync(Get(Segment));
        Assert.Equal(body, (await warm.ReadResponseAsync()).Body);
    }

    /// <summary>Waits until the epoll transport holds <paramref name="count"/> connections (closing is asynchronous).</summary>
    private static Task<bool> ConnectionsBecomeAsync(ApplianceHarness h, int count) => BecomesAsync(() => Factory(h).Connections, count);

    /// <summary>Waits until <paramref name="count"/> accepted sockets wait for their first bytes.</summary>
    private static Task<bool> WaitingBecomesAsync(ApplianceHarness h, int count) => BecomesAsync(() => Factory(h).Waiting, count);

    private static async Task<bool> BecomesAsync(Func<int> value, int count)
    {
        for (var i = 0; i < 100; i++)
        {
            if (value() == count)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    [Fact]
    public async Task PlaintextDataConnections_AreOnTheEpollTransport_HttpsAndManagementStayOnSockets()
    {
        using var files = new TempDirectory("openconnect-epoll");
        await using var h = await StartAsync(["--urls", "https://127.0.0.1:0;http://127.0.0.1:0", .. HttpsPipelineTests.CertificateSettings(files)]);
        h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
        var addresses = h.Appliance.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Select(a => new Uri(a)).ToList();
        var management = h.Appliance.ManagementAddress;
        var plain = addresses.Single(a => a.Scheme == "http" && a.Port != management.Port);
        var tls = h.BaseAddress;
        Assert.Equal("https", tls.Scheme);

        using (var https = HttpsPipelineTests.TlsClient(tls))
        {
            Assert.Equal(HttpStatusCode.OK, (await https.GetAsync(Playlist)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await h.Appliance.GetManagementAsync("/healthz")).StatusCode);
        Assert.True(await ConnectionsBecomeAsync(h, 0), "an HTTPS or management connection went to the epoll transport");

        using var c = await RawHttp.ConnectAsync(plain);
        await c.SendAsync(Get(Playlist));
        Assert.Equal(200, (await c.ReadResponseAsync()).Status);
        Assert.Equal(1, Factory(h).Connections);
    }

    [Fact]
    public async Task ManyConnectionsAtOnce_AreAllServed_AndAllFreedWhenTheyClose()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(100_000, 91);
        h.Parent.Put(Segment, body);
        await WarmAsync(h, body);

        var clients = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => h.ConnectAsync()));
        try
        {
            Assert.True(await ConnectionsBecomeAsync(h, 300), $"the epoll transport holds {Factory(h).Connections} of 300 connections");
            await Task.WhenAll(clients.Select(async c =>
            {
                for (var i = 0; i < 3; i++)
                {
                    await c.SendAsync(Get(Segment));
                    var r = await c.ReadResponseAsync();
                    Assert.Equal(200, r.Status);
                    Assert.Equal(body, r.Body);
                }
            }));
        }
        finally
        {
            foreach (var c in clients)
            {
                c.Dispose();
            }
        }

        Assert.True(await ConnectionsBecomeAsync(h, 0), $"{Factory(h).Connections} connections still held after every client closed");
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_connections_open"));
    }

    [Fact]
    public async Task PipelinedRequestsInOneSegment_AreAnsweredInOrder()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(50_000, 92);
        h.Parent.Put(Segment, body);
        h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
        using var c = await h.ConnectAsync();
        var batch = new StringBuilder();
        for (var i = 0; i < 10; i++)
        {
            batch.Append(Get(i % 2 == 0 ? Segment : Playlist, i % 3 == 0 ? "Range: bytes=0-99\r\n" : ""));
        }

        await c.SendAsync(batch.ToString());
        for (var i = 0; i < 10; i++)
        {
            var r = await c.ReadResponseAsync();
            if (i % 2 == 1)
            {
                Assert.Equal("#EXTM3U\n", r.Text);
            }
            else
            {
                Assert.Equal(i % 3 == 0 ? body[..100] : body, r.Body);
            }
        }
    }

    [Fact]
    public async Task AClientThatHalfClosesAfterItsRequest_GetsTheWholeResponse_ThenTheClose()
    {
        await using var h = await StartAsync("--Appliance:Limits:SendBufferBytes=16384");
        var body = ApplianceHarness.RandomBytes(2_000_000, 93);
        h.Parent.Put(Segment, body);
        await WarmAsync(h, body);

        // A RAM hit larger than the send buffer: sendfile waits for writability after the FIN arrived.
        using var c = await h.ConnectAsync();
        await c.SendAsync(Get(Segment));
        c.ShutdownSend();
        await Task.Delay(200);
        var r = await c.ReadResponseAsync();
        Assert.Equal(200, r.Status);
        Assert.Equal(body, r.Body);
        Assert.True(await c.IsClosedByServerAsync(TimeSpan.FromSeconds(5)), "the half-closed connection was not closed after its response");
        Assert.True(await ConnectionsBecomeAsync(h, 0), "the half-closed connection is still held");
    }

    [Fact]
    public async Task AClientThatResetsMidResponse_IsFreed_AndTheServerGoesOn()
    {
        await using var h = await StartAsync("--Appliance:Limits:SendBufferBytes=16384");
        var body = ApplianceHarness.RandomBytes(8_000_000, 94);
        h.Parent.Put(Segment, body);
        await WarmAsync(h, body);

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8192 })
        {
            await socket.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes(Get(Segment)));
            var buffer = new byte[4096];
            Assert.True(await socket.ReceiveAsync(buffer) > 0);

            // Close with unread data and linger 0: a reset while the server waits to send more.
            socket.LingerState = new LingerOption(true, 0);
        }

        Assert.True(await ConnectionsBecomeAsync(h, 0), "the reset connection is still held");
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_connections_open"));
        using var next = await h.ConnectAsync();
        await next.SendAsync(Get(Segment));
        Assert.Equal(body, (await next.ReadResponseAsync()).Body);
    }

    [Fact]
    public async Task AtTheConnectionCap_AnExtraConnectionIsClosed_AndOneIsAcceptedAgainOnceAPlaceFrees()
    {
        await using var h = await StartAsync("--Appliance:Limits:MaxConnections=2");
        h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
        var first = await h.ConnectAsync();
        using var second = await h.ConnectAsync();
        foreach (var c in new[] { first, second })
        {
            await c.SendAsync(Get(Playlist));
            Assert.Equal(200, (await c.ReadResponseAsync()).Status);
        }

        using (var third = await h.ConnectAsync())
        {
            await third.SendAsync(Get(Playlist));
            Assert.True(await third.IsClosedByServerAsync(TimeSpan.FromSeconds(5)), "a third connection was served with a cap of 2");
        }

        first.Dispose();
        var served = false;
        for (var i = 0; i < 50 && !served; i++)
        {
            await Task.Delay(100);
            using var next = await h.ConnectAsync();
            await next.SendAsync(Get(Playlist));
            try
            {
                served = (await next.ReadResponseAsync()).Status == 200;
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException)
            {
                // Still over the cap: closed without an answer.
            }
        }

        Assert.True(served, "no connection was accepted after one of the two closed");
    }

    [Fact]
    public async Task AConnectionThatHasSentNothing_WaitsOnTheTransport_NotAsAConnection_AndIsServedOnceItSends()
    {
        await using var h = await StartAsync();
        h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
        using var c = await h.ConnectAsync();
        Assert.True(await WaitingBecomesAsync(h, 1), $"{Factory(h).Waiting} sockets wait after one silent connect");
        Assert.Equal(1, Factory(h).Connections);
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_connections_open"));

        await c.SendAsync(Get(Playlist));
        Assert.Equal("#EXTM3U\n", (await c.ReadResponseAsync()).Text);
        Assert.Equal(0, Factory(h).Waiting);
        Assert.Equal(1, Factory(h).Connections);
        Assert.Equal(1, await h.MetricAsync("openconnect_appliance_connections_open"));

        // Keep-alive: the next request on the same connection.
        await c.SendAsync(Get(Playlist));
        Assert.Equal(200, (await c.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task ARequestSentRightWithTheConnect_AndOneInPieces_AreBothServed()
    {
        await using var h = await StartAsync();
        h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
        var request = Encoding.ASCII.GetBytes(Get(Playlist));
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            // The request (and the FIN) may be in the socket before it is even accepted.
            await socket.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
            await socket.SendAsync(request);
            socket.Shutdown(SocketShutdown.Send);
            var response = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer)) > 0)
            {
                response.Write(buffer, 0, n);
            }

            Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(response.ToArray()), StringComparison.Ordinal);
        }

        using var c = await h.ConnectAsync();
        var text = Get(Playlist);
        await c.SendAsync(text[..5]);
        await Task.Delay(100);
        await c.SendAsync(text[5..]);
        Assert.Equal(200, (await c.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task SocketsThatHaveSentNothing_CountAgainstTheAddressCap_AndOneThatCloses_FreesItsPlace()
    {
        await using var h = await StartAsync("--Appliance:Limits:MaxConnectionsPerClient=2");
        h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
        var first = await h.ConnectAsync();
        using var second = await h.ConnectAsync();
        Assert.True(await WaitingBecomesAsync(h, 2));

        using (var third = await h.ConnectAsync())
        {
            // Over the cap: answered at once, without a request, as on Kestrel's transport.
            var refused = await third.ReadResponseAsync();
            Assert.Equal(503, refused.Status);
            Assert.Contains("too many connections from this address", refused.Text);
        }

        first.Dispose();
        Assert.True(await WaitingBecomesAsync(h, 1), "the socket the peer closed still waits");
        using var next = await h.ConnectAsync();
        await next.SendAsync(Get(Playlist));
        Assert.Equal(200, (await next.ReadResponseAsync()).Status);
        await second.SendAsync(Get(Playlist));
        Assert.Equal(200, (await second.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task AtTheConnectionCap_SocketsThatHaveSentNothing_CountToo()
    {
        await using var h = await StartAsync("--Appliance:Limits:MaxConnections=2");
        using var first = await h.ConnectAsync();
        using var second = await h.ConnectAsync();
        Assert.True(await WaitingBecomesAsync(h, 2));
        using var third = await h.ConnectAsync();
        Assert.True(await third.IsClosedByServerAsync(TimeSpan.FromSeconds(5)), "a third socket was held with a cap of 2");
        Assert.Equal(2, Factory(h).Connections);
    }

    [Fact]
    public async Task AnUnknownTransport_StopsTheApplianceAtStart_WithTheKeyName()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => ApplianceHarness.StartAsync("--Appliance:Serving:Transport=Uring"));
        Assert.Contains("Appliance:Serving:Transport", ex.Message, StringComparison.Ordinal);
    }
}
