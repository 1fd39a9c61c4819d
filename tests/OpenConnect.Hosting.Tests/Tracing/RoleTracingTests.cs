using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Hosting.Tracing;
using OpenConnect.Testing;
using OpenTelemetry.Trace;

namespace OpenConnect.Hosting.Tests.Tracing;

/// <summary>
/// Tests that watch the process-wide listener state of <see cref="RoleTracing.Source"/>: they run
/// alone, so no other test's tracer provider is listening meanwhile.
/// </summary>
[CollectionDefinition(nameof(TracingListeners), DisableParallelization = true)]
public sealed class TracingListeners;

[Collection(nameof(TracingListeners))]
public sealed class RoleTracingTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string CallerSpanId = "00f067aa0ba902b7";
    private const string SignedTraceId = "5bf92f3577b34da6a3ce929d0e0e4737";

    [Fact]
    public async Task Off_ByDefault_NothingListens_AndNoProviderIsRegistered()
    {
        await using var app = await StartAsync();
        using var client = PlayerClient(app);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
        request.Headers.Add("traceparent", $"00-{TraceId}-{CallerSpanId}-01");
        (await client.SendAsync(request)).EnsureSuccessStatusCode();

        Assert.Null(app.Services.GetService<TracerProvider>());
        Assert.False(RoleTracing.Source.HasListeners());
        Assert.Null(RoleTracing.Source.StartActivity("any span"));
    }

    [Fact]
    public async Task Zipkin_ContinuesTheCallersTrace_AndExportsTheServerSpan()
    {
        await using var receiver = await TraceReceiver.StartAsync();
        await using (var app = await StartAsync(receiver.RoleSettings()))
        {
            Assert.NotNull(app.Services.GetService<TracerProvider>());
            Assert.True(RoleTracing.Source.HasListeners());
            using var client = PlayerClient(app);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
            request.Headers.Add("traceparent", $"00-{TraceId}-{CallerSpanId}-01");
            (await client.SendAsync(request)).EnsureSuccessStatusCode();
            (await client.GetAsync(new Uri(app.Services.GetRequiredService<RoleListeners>().ManagementAddress, RoleHost.HealthPath))).EnsureSuccessStatusCode();
            using var signed = new HttpRequestMessage(HttpMethod.Get, "/s/secret-token-value/v/t1/r0/seg-00001.m4s");
            signed.Headers.Add("traceparent", $"00-{SignedTraceId}-{CallerSpanId}-01");
            await client.SendAsync(signed);

            var trace = await receiver.WaitForTraceAsync(TraceId, spans => spans.Count > 0, TimeSpan.FromSeconds(20));
            var server = Assert.Single(trace);
            Assert.Equal(CallerSpanId, server.ParentId);
            Assert.Equal("SERVER", server.Kind);
            Assert.Equal(RoleTracing.ServiceName("kit-test"), server.Service);
            Assert.Equal("/hello", server.Tags["url.path"]);
        }

        // A signed player path is recorded without its token.
        var player = Assert.Single(await receiver.WaitForTraceAsync(SignedTraceId, spans => spans.Count > 0, TimeSpan.FromSeconds(20)));
        Assert.Equal("/s/redacted/v/t1/r0/seg-00001.m4s", player.Tags["url.path"]);
        Assert.DoesNotContain(player.Tags.Values, v => v.Contains("secret-token-value", StringComparison.Ordinal));
        Assert.DoesNotContain("secret-token-value", player.Name, StringComparison.Ordinal);

        // Health checks on the management listener are not traced, and a stopped host stops listening.
        Assert.DoesNotContain(receiver.Spans, s => s.Tags.GetValueOrDefault("url.path") == RoleHost.HealthPath);
        Assert.False(RoleTracing.Source.HasListeners());
    }

    [Fact]
    public async Task Otlp_PostsProtobufToTheEndpointAsGiven()
    {
        await using var receiver = await TraceReceiver.StartAsync();
        await using var app = await StartAsync("--Tracing:Exporter=otlp", $"--Tracing:Endpoint={receiver.OtlpEndpoint}", "--Tracing:ExportInterval=00:00:00.2");
        using var client = PlayerClient(app);
        (await client.GetAsync("/hello")).EnsureSuccessStatusCode();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (receiver.OtlpPosts.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no OTLP post arrived at /v1/traces");
            await Task.Delay(100);
        }

        var (contentType, length) = receiver.OtlpPosts.First();
        Assert.Equal("application/x-protobuf", contentType);
        Assert.True(length > 0);
    }

    [Fact]
    public async Task SampleRatioZero_RecordsNoNewTrace_ButFollowsASampledCaller()
    {
        await using var receiver = await TraceReceiver.StartAsync();
        await using var app = await StartAsync([.. receiver.RoleSettings(), "--Tracing:SampleRatio=0"]);
        using var client = PlayerClient(app);
        (await client.GetAsync("/hello")).EnsureSuccessStatusCode();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
        request.Headers.Add("traceparent", $"00-{TraceId}-{CallerSpanId}-01");
        (await client.SendAsync(request)).EnsureSuccessStatusCode();

        await receiver.WaitForTraceAsync(TraceId, spans => spans.Count == 1, TimeSpan.FromSeconds(20));
        // Both requests were answered before the sampled one's batch arrived; the unsampled one never comes.
        await Task.Delay(500);
        Assert.All(receiver.Spans, s => Assert.Equal(TraceId, s.TraceId));
    }

    [Theory]
    [InlineData("--Tracing:Exporter=zipkin", "Tracing:Endpoint")]
    [InlineData("--Tracing:Exporter=jaeger --Tracing:Endpoint=http://127.0.0.1:4318/v1/traces", "section 'Tracing'")]
    [InlineData("--Tracing:Endpoint=http://127.0.0.1:9411/api/v2/spans", "Tracing:Endpoint")]
    [InlineData("--Tracing:Exporter=otlp --Tracing:Endpoint=collector:4318", "Tracing:Endpoint")]
    [InlineData("--Tracing:Exporter=otlp --Tracing:Endpoint=http://127.0.0.1:4318/v1/traces --Tracing:SampleRatio=1.5", "Tracing:SampleRatio")]
    [InlineData("--Tracing:Exporter=otlp --Tracing:Endpoint=http://127.0.0.1:4318/v1/traces --Tracing:ExportInterval=00:00:00.01", "Tracing:ExportInterval")]
    [InlineData("--Tracing:Exporters=otlp", "section 'Tracing'")]
    public async Task BadSetting_StopsTheStart_NamingTheKey(string settings, string key)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings.Split(' ')));
        Assert.Contains(key, RoleHost.DescribeStartupFailure(error), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", true, true)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "vendor=1", true, false)]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", false, false)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "", false, false)]
    [InlineData("not a trace context at all, but just as long as one is.......", "", false, false)]
    [InlineData("", "", false, false)]
    public void ParseTraceContext_AcceptsOnlyW3CTraceparent(string traceparent, string tracestate, bool valid, bool sampled)
    {
        var context = RoleTracing.ParseTraceContext(System.Text.Encoding.ASCII.GetBytes(traceparent), System.Text.Encoding.ASCII.GetBytes(tracestate));
        Assert.Equal(valid, context != default);
        if (valid)
        {
            Assert.Equal(TraceId, context.TraceId.ToHexString());
            Assert.Equal(CallerSpanId, context.SpanId.ToHexString());
            Assert.Equal(sampled, context.TraceFlags.HasFlag(ActivityTraceFlags.Recorded));
            Assert.True(context.IsRemote);
            Assert.Equal(tracestate.Length == 0 ? null : tracestate, context.TraceState);
        }
    }

    private static async Task<WebApplication> StartAsync(params string[] settings)
    {
        var app = KitRole.Build(["--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", .. settings], KitRole.Spec(withControl: false));
        try
        {
            await app.StartAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A client that sends the test's traceparent as given: this process's tracer provider instruments
    /// HttpClient too, and would otherwise replace it with a client span of its own.
    /// </summary>
    private static HttpClient PlayerClient(WebApplication app) =>
        new(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = new Uri(app.Urls.First()) };
}
