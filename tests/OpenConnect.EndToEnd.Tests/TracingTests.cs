using System.Diagnostics;
using System.Text.Json;
using OpenConnect.Hosting.Tracing;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// Tracing across processes: steering, an appliance and the origin run as separate processes that
/// export to a Zipkin receiver in the test, and one player's requests come back as one trace.
/// </summary>
public sealed class TracingTests
{
    private const string Segment = "r0/seg-00001.m4s";

    [Fact]
    public async Task ColdSegment_IsOneTrace_FromThePlayerThroughSteeringTheApplianceMissAndTheOrigin()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        await using var stack = await SteeredStack.StartAsync(appliances: 1, titleSeconds: 4, everyRoleSettings: receiver.RoleSettings(), applianceSettings: []);
        var appliance = stack.Appliances[0];

        // The player's own spans: one for asking steering, one for the segment; both in one trace.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var playSpan = ActivitySpanId.CreateRandom().ToHexString();
        var segmentSpan = ActivitySpanId.CreateRandom().ToHexString();

        using var steering = stack.Steering.CreateClient();
        using var play = new HttpRequestMessage(HttpMethod.Get, $"/play/{SteeredStack.Title}");
        play.Headers.Add("traceparent", $"00-{traceId}-{playSpan}-01");
        using var played = await steering.SendAsync(play);
        played.EnsureSuccessStatusCode();
        using var offer = JsonDocument.Parse(await played.Content.ReadAsStringAsync());
        var master = offer.RootElement.GetProperty("hls").GetProperty("pathways").EnumerateArray()
            .Single(p => p.GetProperty("id").GetString() == appliance.Id).GetProperty("url").GetString()!;

        using var player = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(master), Segment));
        request.Headers.Add("traceparent", $"00-{traceId}-{segmentSpan}-01");
        using var response = await player.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(stack.PublishedDirectory, SteeredStack.Title, Segment)), await response.Content.ReadAsByteArrayAsync());

        var trace = await receiver.WaitForTraceAsync(
            traceId,
            spans => spans.Any(s => s.Service == Service("steering") && s.Kind == "SERVER")
                && spans.Any(s => s.Service == Service("appliance") && s.Kind == "SERVER")
                && spans.Any(s => s.Name == "appliance parent fetch")
                && spans.Any(s => s.Service == Service("origin") && s.Kind == "SERVER" && IsSegment(s.Tags.GetValueOrDefault("url.path"))),
            TimeSpan.FromSeconds(30));
        var spans = string.Join("\n", trace);

        // Steering continued the player's /play span.
        var steered = Assert.Single(trace, s => s.Service == Service("steering") && s.Kind == "SERVER");
        Assert.Equal(playSpan, steered.ParentId);
        Assert.Equal(appliance.Id, steered.Tags["openconnect.pathway"]);

        // The appliance's request span continued the player's segment span, and was a miss…
        var served = Assert.Single(trace, s => s.Service == Service("appliance") && s.Kind == "SERVER");
        Assert.Equal(segmentSpan, served.ParentId);
        Assert.True(IsSegment(served.Tags["url.path"]), spans);
        Assert.Equal("miss", served.Tags["openconnect.cache"]);
        Assert.Equal("200", served.Tags["http.response.status_code"]);
        Assert.DoesNotContain(served.Tags.Values, v => v.Contains("/s/", StringComparison.Ordinal));

        // …whose parent fetch ran under it and called the origin with the trace…
        var fetch = Assert.Single(trace, s => s.Name == "appliance parent fetch" && s.ParentId == served.Id);
        Assert.Equal("Ok", fetch.Tags["openconnect.fetch.outcome"]);
        var call = Assert.Single(trace, s => s.Service == Service("appliance") && s.Kind == "CLIENT" && s.ParentId == fetch.Id && IsSegment(s.Tags.GetValueOrDefault("url.full")));

        // …and the origin's parent endpoint continued that call.
        var origin = Assert.Single(trace, s => s.Service == Service("origin") && s.Kind == "SERVER" && IsSegment(s.Tags.GetValueOrDefault("url.path")));
        Assert.Equal(call.Id, origin.ParentId);
    }

    private static string Service(string role) => RoleTracing.ServiceName(role);

    private static bool IsSegment(string? path) => path is not null && path.EndsWith($"/{SteeredStack.Title}/{Segment}", StringComparison.Ordinal);
}
