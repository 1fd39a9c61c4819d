using System.Net;
using System.Net.Sockets;
using OpenConnect.Bench.Fleet;

namespace OpenConnect.Bench.Tests;

/// <summary>The fleet bench's replica-kill case: its options, and the players' move to another steering instance.</summary>
public sealed class SteeringReplicaBenchTests
{
    [Fact]
    public void FleetOptions_TakeReplicasAndAKillTime()
    {
        var options = FleetOptions.Parse(["--steering-replicas", "2", "--kill-steering-at", "20", "--chaos", "off", "--seconds", "60"]);
        Assert.Equal(2, options.SteeringReplicas);
        Assert.Equal(20, options.KillSteeringAt);
        Assert.False(options.Chaos);
        Assert.Equal(1, FleetOptions.Parse([]).SteeringReplicas);
        Assert.Null(FleetOptions.Parse([]).KillSteeringAt);
    }

    [Theory]
    [InlineData("--steering-replicas 4", "--steering-replicas")]
    [InlineData("--kill-steering-at 20", "needs --steering-replicas 2 or 3")]
    [InlineData("--steering-replicas 2 --kill-steering-at 200", "within the run")]
    public void FleetOptions_RefuseAKillWithoutASurvivor_OrOutsideTheRun(string args, string expected)
    {
        var error = Assert.Throws<BenchUsageException>(() => FleetOptions.Parse(args.Split(' ')));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARequestToAReplicaThatRefuses_GoesToTheNextWithTheSamePathAndQuery_OthersPassThrough()
    {
        using var live = new HttpListener();
        var port = FreePort();
        live.Prefixes.Add($"http://127.0.0.1:{port}/");
        live.Start();
        var served = new List<string>();
        var server = Task.Run(async () =>
        {
            for (var i = 0; i < 2; i++)
            {
                var context = await live.GetContextAsync();
                lock (served)
                {
                    served.Add(context.Request.Url!.PathAndQuery);
                }

                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        var dead = new Uri($"http://127.0.0.1:{FreePort()}");
        using var handler = new SteeringFailoverHandler([dead, new Uri($"http://127.0.0.1:{port}")], new SocketsHttpHandler());
        using var http = new HttpClient(handler);
        var answer = await http.GetAsync(new Uri(dead, "/steering/hls/t1?session=abc&_HLS_pathway=a1"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(1, handler.Failovers);

        // Another host is not a steering replica: its refusal is the caller's to handle.
        var other = new Uri($"http://127.0.0.2:{FreePort()}/v/t1/seg.m4s");
        Assert.Equal(-1, handler.IndexOf(other));
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(other));
        Assert.Equal(1, handler.Failovers);

        await http.GetAsync(new Uri($"http://127.0.0.1:{port}/play/t1"));
        await server;
        Assert.Equal(["/steering/hls/t1?session=abc&_HLS_pathway=a1", "/play/t1"], served);
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
