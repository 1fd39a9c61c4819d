using System.Net.Sockets;
using System.Text;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>Slow readers and connection floods are cut off.</summary>
public sealed class LimitsTests
{
    [Fact]
    public async Task ClientReadingSlowerThanTheMinimumRate_IsCutOff()
    {
        await using var h = await ApplianceHarness.StartAsync(
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
        var received = 0L;
        var buffer = new byte[1 << 16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received += n;
            }
        }
        catch (SocketException)
        {
            // A reset is as good as a close here.
        }

        Assert.False(timeout.IsCancellationRequested, "the server kept the stalled connection open");
        Assert.True(received < body.Length, $"received {received} of {body.Length} bytes: the slow client was not cut off");
    }

    [Fact]
    public async Task ConnectionsBeyondTheCap_AreRefused()
    {
        await using var h = await ApplianceHarness.StartAsync("--Appliance:Limits:MaxConnections=2");
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
}
