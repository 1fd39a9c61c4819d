using System.Net;

namespace OpenConnect.Appliance.Fill;

/// <summary>What one source gave for one object: the body, or why not (<see cref="Mismatch"/>: bytes that contradict the integrity manifest).</summary>
public sealed record SourceResult(byte[]? Body, string? Error, bool Mismatch, string? ETag, DateTimeOffset? LastModified)
{
    public static SourceResult Failed(string error, bool mismatch = false) => new(null, error, mismatch, null, null);
}

/// <summary>
/// GETs fill objects from one source at a time (a peer appliance's or the origin's unsigned
/// <c>/v/…</c> path), bounded in time and size. Separate from the pull-through parents: fill walks
/// its own ranked list per file, and a slow fill must never hold a player's miss.
/// </summary>
public sealed class SourceFetcher : IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;

    public SourceFetcher(TimeSpan timeout)
        : this(timeout, tls: null)
    {
    }

    /// <param name="timeout">Time for one object, head to last byte.</param>
    /// <param name="tls">Fleet TLS for <c>https://</c> sources (<see cref="Upstream.ParentTls"/>); null: https sources are checked against the system roots only.</param>
    public SourceFetcher(TimeSpan timeout, Upstream.ParentTls? tls)
    {
        _timeout = timeout;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            SslOptions = tls?.ClientOptions() ?? new System.Net.Security.SslClientAuthenticationOptions(),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Fetches <paramref name="path"/> from <paramref name="source"/>; a body of another length than <paramref name="expectedLength"/> (when not negative) is a mismatch.</summary>
    public async Task<SourceResult> GetAsync(string source, string path, long expectedLength, long maxLength, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await _http.GetAsync(source.TrimEnd('/') + path, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return SourceResult.Failed($"HTTP {(int)response.StatusCode}");
            }

            var announced = response.Content.Headers.ContentLength;
            if (expectedLength >= 0 && announced is { } length && length != expectedLength)
            {
                return SourceResult.Failed($"length {length}, the integrity manifest says {expectedLength}", mismatch: true);
            }

            var limit = expectedLength >= 0 ? expectedLength : maxLength;
            if (announced > limit)
            {
                return SourceResult.Failed($"length {announced} is over the {limit} byte limit");
            }

            var body = await ReadBodyAsync(response, limit, timeout.Token).ConfigureAwait(false);
            if (body is null || (expectedLength >= 0 && body.LongLength != expectedLength))
            {
                return SourceResult.Failed(expectedLength >= 0 ? $"body length differs from the integrity manifest's {expectedLength}" : $"body over the {limit} byte limit", mismatch: expectedLength >= 0);
            }

            return new SourceResult(body, null, false, response.Headers.ETag?.ToString(), response.Content.Headers.LastModified);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SourceResult.Failed($"no complete answer within {_timeout}");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return SourceResult.Failed(ex.Message);
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; null when the body is longer.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpResponseMessage response, long limit, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream(response.Content.Headers.ContentLength is { } n ? (int)Math.Min(n, limit) : 64 * 1024);
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    public void Dispose() => _http.Dispose();
}
