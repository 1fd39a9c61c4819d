using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OpenConnect.Testing;

/// <summary>One span as a Zipkin JSON v2 body carries it.</summary>
public sealed record ZipkinSpan(string TraceId, string Id, string? ParentId, string Name, string? Kind, string Service, IReadOnlyDictionary<string, string> Tags)
{
    public override string ToString() => $"{Service} {Kind} '{Name}' {TraceId}/{Id} parent {ParentId ?? "-"}";
}

/// <summary>
/// A Zipkin collector's span intake (<c>POST /api/v2/spans</c>, JSON v2) on <c>127.0.0.1:0</c> in the
/// test process: roles running as other processes export to <see cref="Endpoint"/>
/// (<c>Tracing:Exporter=zipkin</c>) and the test reads back what they sent. It also takes OTLP/HTTP
/// posts at <see cref="OtlpEndpoint"/> and keeps their content types (bodies are not decoded).
/// </summary>
public sealed class TraceReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ZipkinSpan> _spans = new();
    private readonly ConcurrentQueue<(string? ContentType, long Length)> _otlpPosts = new();

    private TraceReceiver(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    public IReadOnlyCollection<ZipkinSpan> Spans => _spans;

    /// <summary>The OTLP/HTTP traces path, <c>/v1/traces</c>.</summary>
    public Uri OtlpEndpoint => new(Endpoint, "/v1/traces");

    /// <summary>Content type and length of each OTLP post received.</summary>
    public IReadOnlyCollection<(string? ContentType, long Length)> OtlpPosts => _otlpPosts;

    public static async Task<TraceReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new TraceReceiver(app);
        app.MapPost("/api/v2/spans", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            foreach (var span in body.RootElement.EnumerateArray())
            {
                receiver._spans.Enqueue(Read(span));
            }

            return Results.Accepted();
        });
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            receiver._otlpPosts.Enqueue((context.Request.ContentType, body.Length));
            return Results.Ok();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        receiver.Endpoint = new Uri(new Uri(address), "/api/v2/spans");
        return receiver;
    }

    /// <summary>The settings that make a role export its spans here, in batches sent every 200 ms.</summary>
    public string[] RoleSettings() =>
        ["--Tracing:Exporter=zipkin", $"--Tracing:Endpoint={Endpoint}", "--Tracing:ExportInterval=00:00:00.2"];

    /// <summary>The spans of <paramref name="traceId"/> once <paramref name="complete"/> holds for them, or a failure listing what arrived.</summary>
    public async Task<IReadOnlyList<ZipkinSpan>> WaitForTraceAsync(string traceId, Func<IReadOnlyList<ZipkinSpan>, bool> complete, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var trace = _spans.Where(s => s.TraceId == traceId).ToList();
            if (complete(trace))
            {
                return trace;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"trace {traceId} incomplete after {timeout}; it has:\n{string.Join("\n", trace)}\nall spans received: {_spans.Count}");
            }

            await Task.Delay(100);
        }
    }

    private static ZipkinSpan Read(JsonElement span)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (span.TryGetProperty("tags", out var t))
        {
            foreach (var tag in t.EnumerateObject())
            {
                tags[tag.Name] = tag.Value.ToString();
            }
        }

        return new ZipkinSpan(
            span.GetProperty("traceId").GetString()!,
            span.GetProperty("id").GetString()!,
            span.TryGetProperty("parentId", out var parent) ? parent.GetString() : null,
            span.TryGetProperty("name", out var name) ? name.GetString() ?? "" : "",
            span.TryGetProperty("kind", out var kind) ? kind.GetString() : null,
            span.TryGetProperty("localEndpoint", out var local) && local.TryGetProperty("serviceName", out var service) ? service.GetString() ?? "" : "",
            tags);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
