using System.Diagnostics;
using System.Text.Json;
using OpenConnect.Hosting.Tracing;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// Tracing across processes: steering, appliances and the origin run as separate processes that
/// export to a Zipkin receiver in the test, and one player's requests come back as one trace.
/// </summary>
public sealed class TracingTests
{
    private const string Segment = "r0/seg-00001.m4s";

    [Fact]
    public async Task ColdSegment_IsOneTrace_FromThePlayerThroughSteeringTheApplianceMissAndTheOrigin()
    {
        await using var receiver = await TraceReceiver.StartAsync();
        await using var stack = await SteeredStack.StartAsync(appliances: 1, titleSeconds: 4, everyRoleSettings: receiver.RoleSettings(), applianceSettings: []);
        var appliance = stack.Appliances[0];
        var player = new TracedPlayer();

        var master = await player.PlayAsync(stack, appliance.Id);
        await player.GetSegmentAsync(stack, master);

        var trace = await receiver.WaitForTraceAsync(
            player.TraceId,
            spans => spans.Any(s => s.Service == Service("steering") && s.Kind == "SERVER")
                && spans.Any(s => s.Service == Service("appliance") && s.Kind == "SERVER")
                && spans.Any(s => s.Name == "appliance parent fetch" && IsSegment(s.Tags.GetValueOrDefault("url.path")))
                && spans.Any(IsOriginSegment),
            TimeSpan.FromSeconds(30));

        // Steering continued the player's /play span.
        var steered = One(trace, s => s.Service == Service("steering") && s.Kind == "SERVER");
        Assert.Equal(player.PlaySpan, steered.ParentId);
        Assert.Equal(appliance.Id, steered.Tags["openconnect.pathway"]);

        // The appliance's request span continued the player's segment span, and was a miss…
        var served = One(trace, s => s.Service == Service("appliance") && s.Kind == "SERVER");
        Assert.Equal(player.SegmentSpan, served.ParentId);
        Assert.True(IsSegment(served.Tags["url.path"]), string.Join("\n", trace));
        Assert.Equal("miss", served.Tags["openconnect.cache"]);
        Assert.Equal("200", served.Tags["http.response.status_code"]);
        Assert.DoesNotContain(served.Tags.Values, v => v.Contains("/s/", StringComparison.Ordinal));

        // …whose parent fetch called the origin with the trace, and the origin's parent endpoint continued it.
        var call = ParentCall(trace, served);
        Assert.Equal(call.Id, One(trace, IsOriginSegment).ParentId);
    }

    [Fact]
    public async Task ColdSegment_IsOneTrace_ThroughAPeerAppliance_ToTheOrigin()
    {
        await using var receiver = await TraceReceiver.StartAsync();
        await using var stack = await SteeredStack.StartAsync(appliances: 2, titleSeconds: 4, everyRoleSettings: receiver.RoleSettings(), applianceSettings: []);
        // The second appliance of a site asks the first (its peer, over fleet TLS) before the origin.
        var edge = stack.Appliances[1];
        var player = new TracedPlayer();

        var master = await player.PlayAsync(stack, edge.Id);
        await player.GetSegmentAsync(stack, master);

        var trace = await receiver.WaitForTraceAsync(
            player.TraceId,
            spans => spans.Any(s => s.Kind == "SERVER" && s.ParentId == player.SegmentSpan)
                && spans.Count(s => s.Name == "appliance parent fetch" && IsSegment(s.Tags.GetValueOrDefault("url.path"))) == 2
                && spans.Any(IsOriginSegment),
            TimeSpan.FromSeconds(30));

        // The edge appliance (its socket data path) continued the player's span…
        var edgeServed = One(trace, s => s.Service == Service("appliance") && s.Kind == "SERVER" && s.ParentId == player.SegmentSpan);
        Assert.Equal("miss", edgeServed.Tags["openconnect.cache"]);
        var edgeCall = ParentCall(trace, edgeServed);

        // …the peer (its Kestrel parent listener) continued the edge's call and missed too…
        var peerServed = One(trace, s => s.Service == Service("appliance") && s.Kind == "SERVER" && s.ParentId == edgeCall.Id);
        Assert.Equal("miss", peerServed.Tags["openconnect.cache"]);
        var peerCall = ParentCall(trace, peerServed);

        // …and the origin continued the peer's call: four processes, one trace.
        Assert.Equal(peerCall.Id, One(trace, IsOriginSegment).ParentId);
    }

    /// <summary>The parent fetch started under <paramref name="served"/> and its one HTTP call for the segment.</summary>
    private static ZipkinSpan ParentCall(IReadOnlyList<ZipkinSpan> trace, ZipkinSpan served)
    {
        var fetch = One(trace, s => s.Name == "appliance parent fetch" && s.ParentId == served.Id && IsSegment(s.Tags.GetValueOrDefault("url.path")));
        Assert.Equal("Ok", fetch.Tags["openconnect.fetch.outcome"]);
        return One(trace, s => s.Service == Service("appliance") && s.Kind == "CLIENT" && s.ParentId == fetch.Id && IsSegment(s.Tags.GetValueOrDefault("url.full")));
    }

    /// <summary>The one span of <paramref name="trace"/> matching <paramref name="match"/>; a failure lists the whole trace.</summary>
    private static ZipkinSpan One(IReadOnlyList<ZipkinSpan> trace, Func<ZipkinSpan, bool> match)
    {
        var found = trace.Where(match).ToList();
        Assert.True(found.Count == 1, $"{found.Count} matching spans in the trace:\n{string.Join("\n", trace.Select(s => $"{s} tags {string.Join(", ", s.Tags.Select(t => $"{t.Key}={t.Value}"))}"))}");
        return found[0];
    }

    private static bool IsOriginSegment(ZipkinSpan span) =>
        span.Service == Service("origin") && span.Kind == "SERVER" && IsSegment(span.Tags.GetValueOrDefault("url.path"));

    private static string Service(string role) => RoleTracing.ServiceName(role);

    private static bool IsSegment(string? path) => path is not null && path.EndsWith($"/{SteeredStack.Title}/{Segment}", StringComparison.Ordinal);

    /// <summary>A player with a trace of its own: one span for asking steering, one for the segment.</summary>
    private sealed class TracedPlayer
    {
        public string TraceId { get; } = ActivityTraceId.CreateRandom().ToHexString();

        public string PlaySpan { get; } = ActivitySpanId.CreateRandom().ToHexString();

        public string SegmentSpan { get; } = ActivitySpanId.CreateRandom().ToHexString();

        /// <summary>Asks steering to play the title; returns the master playlist URL of <paramref name="applianceId"/>'s pathway.</summary>
        public async Task<Uri> PlayAsync(SteeredStack stack, string applianceId)
        {
            using var steering = stack.Steering.CreateClient();
            using var play = new HttpRequestMessage(HttpMethod.Get, $"/play/{SteeredStack.Title}");
            play.Headers.Add("traceparent", $"00-{TraceId}-{PlaySpan}-01");
            using var played = await steering.SendAsync(play);
            played.EnsureSuccessStatusCode();
            using var offer = JsonDocument.Parse(await played.Content.ReadAsStringAsync());
            return new Uri(offer.RootElement.GetProperty("hls").GetProperty("pathways").EnumerateArray()
                .Single(p => p.GetProperty("id").GetString() == applianceId).GetProperty("url").GetString()!);
        }

        /// <summary>Fetches the cold segment beside <paramref name="master"/> and checks it byte for byte.</summary>
        public async Task GetSegmentAsync(SteeredStack stack, Uri master)
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(master, Segment));
            request.Headers.Add("traceparent", $"00-{TraceId}-{SegmentSpan}-01");
            using var response = await client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(stack.PublishedDirectory, SteeredStack.Title, Segment)), await response.Content.ReadAsByteArrayAsync());
        }
    }
}
