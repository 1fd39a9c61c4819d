using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Testing;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// <c>/play</c> under hostile players: a per-client token bucket (429 with <c>Retry-After</c>) and a
/// play counted toward popularity at most once per (client prefix, title) a day. Clients are real
/// connections from different loopback source addresses (127.0.0.1 and 127.0.0.2 share a /24,
/// 127.0.1.1 is another); steering's clock is a fake.
/// </summary>
public sealed class PlayCountingTests
{
    [Fact]
    public async Task Play_OverTheRateLimit_Gets429WithRetryAfter_PerClientAddress_AndRefillsWithTime()
    {
        await using var h = await SteeringHarness.StartAsync(true, "--Steering:PlayRateLimitPerSecond=0.5", "--Steering:PlayRateLimitBurst=3");
        using var first = ClientFrom(h, "127.0.0.1");
        using var neighbour = ClientFrom(h, "127.0.0.2");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/play/t1")).StatusCode);
        }

        var limited = await first.GetAsync("/play/t1");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), limited.Headers.RetryAfter?.Delta);
        Assert.Contains("too many plays", (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
        // Players run on other origins: they may read Retry-After.
        using var fromPlayer = new HttpRequestMessage(HttpMethod.Get, "/play/t1");
        fromPlayer.Headers.Add("Origin", "https://player.example");
        using var limitedPlayer = await first.SendAsync(fromPlayer);
        Assert.Equal(HttpStatusCode.TooManyRequests, limitedPlayer.StatusCode);
        Assert.Equal("*", limitedPlayer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Retry-After", limitedPlayer.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.OrdinalIgnoreCase);

        // Limited before anything else: an unknown or invalid title is no way around it.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await first.GetAsync("/play/nosuchtitle")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await first.GetAsync("/play/bad.title")).StatusCode);

        // Another address (same /24) has its own bucket; the playlist routes count no play and are not limited.
        Assert.Equal(HttpStatusCode.OK, (await neighbour.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/play/t1/master.m3u8")).StatusCode);

        // Half a token a second: one second later there is still none, two seconds later one.
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var stillLimited = await first.GetAsync("/play/t1");
        Assert.Equal(HttpStatusCode.TooManyRequests, stillLimited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), stillLimited.Headers.RetryAfter?.Delta);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await first.GetAsync("/play/t1")).StatusCode);
    }

    [Fact]
    public async Task Play_CountsOncePerClientPrefixAndTitleADay_AnotherPrefixCounts_AndTheNextDayCountsAgain()
    {
        await using var h = await SteeringHarness.StartAsync();
        using var first = ClientFrom(h, "127.0.0.1");
        using var samePrefix = ClientFrom(h, "127.0.0.2");
        using var otherPrefix = ClientFrom(h, "127.0.1.1");
        var today = Day(h);

        foreach (var client in new[] { first, first, samePrefix, first })
        {
            // Every play is still served, with its pathways; only the count is deduplicated.
            using var response = await client.GetAsync("/play/t1");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotEmpty((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hls").GetProperty("pathways").EnumerateArray());
        }

        var history = await h.GetHistoryAsync();
        Assert.Equal(1, Plays(history, today));
        Assert.Equal(3, history.GetProperty("repeats").GetInt64());
        Assert.Equal(0, history.GetProperty("uncounted").GetInt64());

        Assert.Equal(HttpStatusCode.OK, (await otherPrefix.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await otherPrefix.GetAsync("/play/t1?redirect=hls")).StatusCode);
        Assert.Equal(2, Plays(await h.GetHistoryAsync(), today));

        h.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await samePrefix.GetAsync("/play/t1")).StatusCode);
        var nextDay = await h.GetHistoryAsync();
        Assert.Equal(2, Plays(nextDay, today));
        Assert.Equal(1, Plays(nextDay, Day(h)));
    }

    [Fact]
    public async Task Play_AtTheDailyPairCap_NewPairsAreServedButNotCounted_UntilTheNextDay()
    {
        await using var h = await SteeringHarness.StartAsync(true, "--Steering:MaxDailyPlayPairs=1");
        using var first = ClientFrom(h, "127.0.0.1");
        using var otherPrefix = ClientFrom(h, "127.0.1.1");
        var today = Day(h);

        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await otherPrefix.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/play/t1")).StatusCode);
        var history = await h.GetHistoryAsync();
        Assert.Equal(1, Plays(history, today));
        Assert.Equal(1, history.GetProperty("uncounted").GetInt64());
        Assert.Equal(1, history.GetProperty("repeats").GetInt64());

        h.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(HttpStatusCode.OK, (await otherPrefix.GetAsync("/play/t1")).StatusCode);
        Assert.Equal(1, Plays(await h.GetHistoryAsync(), Day(h)));
    }

    [Fact]
    public async Task Play_WithCountRepeatPlays_CountsEveryAnsweredPlay()
    {
        await using var h = await SteeringHarness.StartAsync(true, "--Steering:CountRepeatPlays=true");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await h.Http.GetAsync("/play/t1")).StatusCode);
        }

        Assert.Equal(3, Plays(await h.GetHistoryAsync(), Day(h)));
    }

    [Theory]
    [InlineData("--Steering:PlayRateLimitPerSecond=0", "Steering:PlayRateLimitPerSecond")]
    [InlineData("--Steering:PlayRateLimitBurst=0", "Steering:PlayRateLimitBurst")]
    [InlineData("--Steering:PlayRateLimitClients=0", "Steering:PlayRateLimitClients")]
    [InlineData("--Steering:MaxDailyPlayPairs=0", "Steering:MaxDailyPlayPairs")]
    public async Task Steering_RefusesToStart_OnAnInvalidPlayLimit(string setting, string key)
    {
        using var state = new TempDirectory("openconnect-steering");
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningRole.StartAsync(
            SteeringHost.Build,
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            setting));
        Assert.Contains(key, OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure), StringComparison.Ordinal);
    }

    private static string Day(SteeringHarness h) => h.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static long Plays(JsonElement history, string day) => history.GetProperty("plays").EnumerateArray()
        .Where(p => p.GetProperty("day").GetString() == day && p.GetProperty("title").GetString() == SteeringHarness.Title)
        .Sum(p => p.GetProperty("plays").GetInt64());

    /// <summary>A client whose connections come from <paramref name="source"/> (any 127/8 address is local on Linux).</summary>
    private static HttpClient ClientFrom(SteeringHarness h, string source)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                    await socket.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = h.Steering.BaseAddress };
    }
}
