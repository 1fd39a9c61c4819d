using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OpenConnect.Testing;

/// <summary>
/// A real HTTP parent (Kestrel on 127.0.0.1:0) that serves objects from memory and can be made slow
/// or broken, and counts the requests it receives: the other side of pull-through tests.
/// </summary>
public sealed class TestParent : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, byte[]> _objects = new();
    private readonly ConcurrentDictionary<string, int> _requests = new();
    private readonly ConcurrentDictionary<string, int> _conditional = new();
    private readonly ConcurrentDictionary<string, int> _notModified = new();
    private readonly WebApplication _app;

    private TestParent(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>Delay before the response head is sent.</summary>
    public TimeSpan HeadDelay { get; set; }

    /// <summary>Body chunk size and the pause after each chunk (to make a slow parent).</summary>
    public int ChunkBytes { get; set; } = 64 * 1024;

    public TimeSpan ChunkDelay { get; set; }

    /// <summary>When set, every response is this status with an empty body.</summary>
    public int? FailWithStatus { get; set; }

    /// <summary>When set, the body is cut (connection aborted) after this many bytes.</summary>
    public long? AbortAfterBytes { get; set; }

    /// <summary>When set, the <c>Cache-Control</c> sent with every object (200 and 304).</summary>
    public string? CacheControl { get; set; }

    /// <summary>Optional hook awaited before each response head is written.</summary>
    public Func<string, Task>? BeforeResponse { get; set; }

    public static async Task<TestParent> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        TestParent? parent = null;
        app.Run(context => parent!.ServeAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        parent = new TestParent(app, new Uri(address));
        return parent;
    }

    public void Put(string path, byte[] body) => _objects[path] = body;

    public int RequestsFor(string path) => _requests.TryGetValue(path, out var n) ? n : 0;

    public int TotalRequests => _requests.Values.Sum();

    /// <summary>Requests for <paramref name="path"/> that carried <c>If-None-Match</c> or <c>If-Modified-Since</c>.</summary>
    public int ConditionalRequestsFor(string path) => _conditional.TryGetValue(path, out var n) ? n : 0;

    /// <summary>Requests for <paramref name="path"/> answered 304 (no body).</summary>
    public int NotModifiedFor(string path) => _notModified.TryGetValue(path, out var n) ? n : 0;

    private async Task ServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        _requests.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (HeadDelay > TimeSpan.Zero)
        {
            await Task.Delay(HeadDelay, context.RequestAborted);
        }

        if (BeforeResponse is { } hook)
        {
            await hook(path);
        }

        if (FailWithStatus is { } status)
        {
            context.Response.StatusCode = status;
            return;
        }

        if (!_objects.TryGetValue(path, out var body))
        {
            context.Response.StatusCode = 404;
            return;
        }

        var etag = $"\"{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(body))[..16]}\"";
        context.Response.Headers.ETag = etag;
        context.Response.Headers.LastModified = "Sun, 01 Nov 2026 12:00:00 GMT";
        if (CacheControl is { } cacheControl)
        {
            context.Response.Headers.CacheControl = cacheControl;
        }

        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0 || context.Request.Headers.IfModifiedSince.Count > 0)
        {
            _conditional.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (ifNoneMatch == etag)
            {
                _notModified.AddOrUpdate(path, 1, (_, n) => n + 1);
                context.Response.StatusCode = 304;
                return;
            }
        }

        context.Response.ContentLength = body.Length;
        context.Response.ContentType = "application/octet-stream";
        await context.Response.StartAsync(context.RequestAborted);
        long sent = 0;
        while (sent < body.Length)
        {
            var n = (int)Math.Min(ChunkBytes, body.Length - sent);
            if (AbortAfterBytes is { } cut && sent + n > cut)
            {
                await context.Response.Body.WriteAsync(body.AsMemory((int)sent, (int)(cut - sent)), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                context.Abort();
                return;
            }

            await context.Response.Body.WriteAsync(body.AsMemory((int)sent, n), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            sent += n;
            if (ChunkDelay > TimeSpan.Zero && sent < body.Length)
            {
                await Task.Delay(ChunkDelay, context.RequestAborted);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
