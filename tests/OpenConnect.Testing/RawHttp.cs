using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OpenConnect.Testing;

/// <summary>
/// A raw TCP client for protocol tests: sends exact bytes (malformed ones included) and reads
/// responses framed by Content-Length, so pipelining, keep-alive and closes can be asserted.
/// </summary>
public sealed class RawHttp : IDisposable
{
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly MemoryStream _pending = new();

    private RawHttp(TcpClient client, Stream? stream = null)
    {
        _client = client;
        _stream = stream ?? client.GetStream();
        _stream.ReadTimeout = 10_000;
    }

    /// <summary>The certificate the server presented, for a connection from <see cref="ConnectTlsAsync"/>.</summary>
    public X509Certificate2? ServerCertificate { get; private init; }

    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
    {
        public string this[string header] => Headers.TryGetValue(header, out var v) ? v : "";

        public string Text => Encoding.UTF8.GetString(Body);
    }

    public static async Task<RawHttp> ConnectAsync(Uri baseAddress)
    {
        var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port);
        client.NoDelay = true;
        return new RawHttp(client);
    }

    /// <summary>A TLS connection (HTTP/1.1, no ALPN) that accepts whatever certificate the server presents: tests read it from <see cref="ServerCertificate"/>.</summary>
    public static async Task<RawHttp> ConnectTlsAsync(Uri baseAddress)
    {
        var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port);
        client.NoDelay = true;
        var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        var certificate = X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData());
        return new RawHttp(client, tls) { ServerCertificate = certificate };
    }

    /// <summary>Sends <c>GET {path}</c> (HTTP/1.1, keep-alive) and reads the response.</summary>
    public async Task<Response> GetAsync(string path)
    {
        await SendAsync($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        return await ReadResponseAsync();
    }

    public Task SendAsync(string raw) => SendAsync(Encoding.Latin1.GetBytes(raw));

    public async Task SendAsync(byte[] raw)
    {
        await _stream.WriteAsync(raw);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one response; for HEAD (or 304/204) pass <paramref name="noBody"/>.</summary>
    public async Task<Response> ReadResponseAsync(bool noBody = false, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var headEnd = await FillUntilAsync(() => IndexOf(_pending.GetBuffer().AsSpan(0, (int)_pending.Length), "\r\n\r\n"u8), timeout.Token);
        var all = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
        var head = Encoding.Latin1.GetString(all[..headEnd]);
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }

        var bodyStart = headEnd + 4;
        if (!noBody && headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            return new Response(status, headers, await ReadChunkedAsync(bodyStart, timeout.Token));
        }

        var length = noBody || status is 204 or 304 || !headers.TryGetValue("Content-Length", out var cl) ? 0 : int.Parse(cl);
        await FillUntilAsync(() => _pending.Length >= bodyStart + length ? 0 : -1, timeout.Token);
        var buffer = _pending.GetBuffer();
        var body = buffer.AsSpan(bodyStart, length).ToArray();
        var rest = buffer.AsSpan(bodyStart + length, (int)_pending.Length - bodyStart - length).ToArray();
        _pending.SetLength(0);
        _pending.Write(rest);
        return new Response(status, headers, body);
    }

    private async Task<byte[]> ReadChunkedAsync(int start, CancellationToken cancellationToken)
    {
        var body = new MemoryStream();
        var position = start;
        while (true)
        {
            var lineEnd = await FillUntilAsync(() => { var i = IndexOf(_pending.GetBuffer().AsSpan(position, (int)_pending.Length - position), "\r\n"u8); return i < 0 ? -1 : position + i; }, cancellationToken);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(_pending.GetBuffer(), position, lineEnd - position).Split(';')[0], 16);
            var dataStart = lineEnd + 2;
            await FillUntilAsync(() => _pending.Length >= dataStart + size + 2 ? 0 : -1, cancellationToken);
            body.Write(_pending.GetBuffer(), dataStart, size);
            position = dataStart + size + 2;
            if (size == 0)
            {
                break;
            }
        }

        var rest = _pending.GetBuffer().AsSpan(position, (int)_pending.Length - position).ToArray();
        _pending.SetLength(0);
        _pending.Write(rest);
        return body.ToArray();
    }

    /// <summary>True when the server closed the connection (read returns 0) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<int> FillUntilAsync(Func<int> probe, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var found = probe();
            if (found >= 0)
            {
                return found;
            }

            var n = await _stream.ReadAsync(buffer, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException("server closed the connection before a full response");
            }

            _pending.Write(buffer, 0, n);
        }
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);

    /// <summary>Ends the request stream (FIN after everything sent), as a client that stops mid-body does; nothing sent is discarded.</summary>
    public void ShutdownSend() => _client.Client.Shutdown(SocketShutdown.Send);

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
