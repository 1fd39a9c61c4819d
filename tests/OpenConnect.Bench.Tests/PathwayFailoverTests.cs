using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Tests;

/// <summary>
/// The bench player against a real HTTP server on loopback with three pathways: <c>reset</c>
/// (playlists fine, every segment's connection aborted mid-body), <c>dead</c> (a port nothing
/// listens on: connection refused) and <c>live</c>.
/// </summary>
public sealed class PathwayFailoverTests : IAsyncLifetime
{
    private const int Segments = 3;
    private const int SegmentBytes = 20_000;
    private static readonly NetworkTrace Fast = new("fast", [1_000_000_000], TimeSpan.Zero);

    private WebApplication _app = null!;
    private string _base = "";
    private string _dead = "";
    private string _priority = "";

    public async Task InitializeAsync()
    {
        _dead = $"http://127.0.0.1:{UnusedPort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/play/t", () => Results.Json(new { hls = new { url = $"{_base}/master.m3u8" } }));
        _app.MapGet("/master.m3u8", (string? order) => Results.Text(Master(order ?? "reset,dead,live"), "application/vnd.apple.mpegurl"));
        _app.MapGet("/steering", () => Results.Text($$"""{"VERSION":1,"TTL":300,"PATHWAY-PRIORITY":[{{_priority}}]}""", "application/json"));
        _app.MapGet("/{pathway}/{rendition}/index.m3u8", () => Results.Text(Media(), "application/vnd.apple.mpegurl"));
        _app.MapGet("/{pathway}/{rendition}/{segment}.m4s", async (HttpContext context, string pathway) =>
        {
            context.Response.ContentLength = SegmentBytes;
            await context.Response.Body.WriteAsync(new byte[SegmentBytes / 4]);
            await context.Response.Body.FlushAsync();
            if (pathway == "reset")
            {
                context.Abort();
                return;
            }

            await context.Response.Body.WriteAsync(new byte[SegmentBytes - (SegmentBytes / 4)]);
        });
        await _app.StartAsync();
        _base = _app.Urls.Single();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task WithFailover_ASegmentCutMidBody_AndARefusedConnection_MoveThePlayerToTheNextPathway()
    {
        var result = await PlayAsync(PathwayFailover.Default with { FollowSteering = false });

        Assert.Null(result.Error);
        Assert.NotNull(result.TtffMs);
        Assert.Equal(Segments * 2.0, result.PlayedSeconds);
        // reset (cut mid-body) -> dead (refused) -> live.
        Assert.Equal(2, result.PathwaySwitches);
        Assert.Equal(2, result.Failures!.Count);
        Assert.Contains(" reset: ", result.Failures[0], StringComparison.Ordinal);
        Assert.Contains(" dead: HttpRequestException", result.Failures[1], StringComparison.Ordinal);
        // Each segment (video and audio) counted once, complete; nothing came from the dead pathway.
        Assert.Equal(2L * Segments * SegmentBytes, result.SegmentBytes);
        Assert.DoesNotContain(new Uri(_dead).Authority, result.BytesByHost!.Keys);
    }

    [Fact]
    public async Task WithoutFailover_TheFirstCutSegmentEndsTheSession()
    {
        var result = await PlayAsync(failover: null);

        Assert.NotNull(result.Error);
        Assert.Equal(0, result.PathwaySwitches);
    }

    [Fact]
    public async Task FollowingSteering_MovesToThePathwaySteeringPutsFirst()
    {
        _priority = "\"live\",\"reset\"";

        var result = await PlayAsync(PathwayFailover.Default);

        Assert.Null(result.Error);
        Assert.Equal(1, result.SteeringSwitches);
        Assert.Equal(0, result.PathwaySwitches);
        Assert.Empty(result.Failures!);
    }

    private async Task<SessionResult> PlayAsync(PathwayFailover? failover)
    {
        using var http = new HttpClient();
        var session = new PlayerSession(http, _base, "t", Fast, new ThroughputRule(), failover);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await session.RunAsync(timeout.Token);
    }

    private string Master(string order)
    {
        var text = new StringBuilder("#EXTM3U\n");
        var pathways = order.Split(',');
        var steering = _priority.Length > 0 ? $"SERVER-URI=\"{_base}/steering\"," : "";
        text.Append($"#EXT-X-CONTENT-STEERING:{steering}PATHWAY-ID=\"{pathways[0]}\"\n");
        foreach (var p in pathways)
        {
            text.Append($"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a.{p}\",NAME=\"audio\",URI=\"{Root(p)}/{p}/audio/index.m3u8\"\n");
        }

        foreach (var p in pathways)
        {
            text.Append($"#EXT-X-STREAM-INF:BANDWIDTH=400000,AUDIO=\"a.{p}\",PATHWAY-ID=\"{p}\"\n{Root(p)}/{p}/low/index.m3u8\n");
            text.Append($"#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"a.{p}\",PATHWAY-ID=\"{p}\"\n{Root(p)}/{p}/high/index.m3u8\n");
        }

        return text.ToString();
    }

    private string Root(string pathway) => pathway == "dead" ? _dead : _base;

    private static string Media()
    {
        var text = new StringBuilder("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
        for (var i = 1; i <= Segments; i++)
        {
            text.Append($"#EXTINF:2.000,\nseg-{i}.m4s\n");
        }

        return text.Append("#EXT-X-ENDLIST\n").ToString();
    }

    private static int UnusedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
