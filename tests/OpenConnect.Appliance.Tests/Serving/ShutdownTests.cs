using System.Diagnostics;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>A stopping appliance closes its players' idle keep-alive connections instead of waiting out the shutdown timeout.</summary>
public class ShutdownTests : TransportTests
{
    private const string Segment = "/v/stop/720p/seg-00001.m4s";

    [Fact]
    public async Task Stop_ClosesIdleKeepAliveConnections_AndEndsWellBeforeTheShutdownTimeout()
    {
        // The keep-alive timeout is longer than the host's shutdown timeout (30 s): only the close
        // request on stop can end these connections early.
        await using var h = await StartAsync("--Appliance:Limits:KeepAliveTimeout=00:02:00");
        var body = ApplianceHarness.RandomBytes(20_000, 61);
        h.Parent.Put(Segment, body);

        using var idle = await h.ConnectAsync();
        using var busy = await h.ConnectAsync();
        foreach (var connection in new[] { idle, busy })
        {
            await connection.SendAsync($"GET {Segment} HTTP/1.1\r\nHost: a\r\n\r\n");
            var first = await connection.ReadResponseAsync();
            Assert.Equal(200, first.Status);
            Assert.Equal(body, first.Body);
        }

        // One connection has half a request head in flight when the stop begins.
        await busy.SendAsync($"GET {Segment} HTTP/1.1\r\n");

        var stopping = Stopwatch.StartNew();
        var stop = h.Appliance.App.StopAsync();
        Assert.True(await idle.IsClosedByServerAsync(TimeSpan.FromSeconds(10)), "the idle keep-alive connection stayed open after the stop began");
        Assert.True(await busy.IsClosedByServerAsync(TimeSpan.FromSeconds(10)), "the connection with a request head under way stayed open after the stop began");
        await stop.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {stopping.Elapsed.TotalSeconds:F1} s");
    }
}
