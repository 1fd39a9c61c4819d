using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// Responses larger than the socket's send buffer wait for writability on the epoll threads and go
/// on there: every byte arrives, on many connections at once (spread over the threads), and the
/// connection keeps serving its next request afterwards.
/// </summary>
public class WriteReadinessTests : TransportTests
{
    private const int BodyBytes = 3_000_000;

    [Fact]
    public async Task SlowReadersOnManyConnections_GetEveryByte_AndTheirNextRequest()
    {
        await using var h = await StartAsync("--Appliance:Limits:SendBufferBytes=16384");
        var bodies = Enumerable.Range(0, 2).Select(i => ApplianceHarness.RandomBytes(BodyBytes, 70 + i)).ToArray();
        h.Parent.Put("/v/wait/720p/seg-0.m4s", bodies[0]);
        h.Parent.Put("/v/wait/720p/seg-1.m4s", bodies[1]);
        using (var client = new HttpClient { BaseAddress = h.BaseAddress })
        {
            // Fetch once so the connections below are served from the cache with sendfile.
            Assert.Equal(bodies[0], await client.GetByteArrayAsync("/v/wait/720p/seg-0.m4s"));
            Assert.Equal(bodies[1], await client.GetByteArrayAsync("/v/wait/720p/seg-1.m4s"));
        }

        var expected = bodies.Select(b => Convert.ToHexString(SHA256.HashData(b))).ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(c => TwoRequestsAsync(h, c)));
        foreach (var (first, second, c) in results.Select((r, c) => (r.First, r.Second, c)))
        {
            Assert.Equal(expected[c % 2], first);
            Assert.Equal(expected[(c + 1) % 2], second);
        }
    }

    /// <summary>Two requests on one keep-alive connection, each body read in small pieces with pauses; returns their SHA-256s.</summary>
    private static async Task<(string First, string Second)> TwoRequestsAsync(ApplianceHarness h, int connection)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8192 };
        await socket.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = new SlowReader(socket, timeout.Token);
        var first = await reader.GetAsync($"/v/wait/720p/seg-{connection % 2}.m4s");
        var second = await reader.GetAsync($"/v/wait/720p/seg-{(connection + 1) % 2}.m4s");
        return (first, second);
    }

    private sealed class SlowReader(Socket socket, CancellationToken cancellationToken)
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _start;
        private int _end;
        private int _reads;

        public async Task<string> GetAsync(string path)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"), SocketFlags.None, cancellationToken);
            var head = new StringBuilder();
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                head.Append((char)await ReadByteAsync());
            }

            var lines = head.ToString().Split("\r\n");
            Assert.StartsWith("HTTP/1.1 200", lines[0]);
            var length = long.Parse(lines.Single(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(BodyBytes, length);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var left = length;
            while (left > 0)
            {
                if (_start == _end)
                {
                    await FillAsync();
                }

                var n = (int)Math.Min(left, _end - _start);
                sha.AppendData(_buffer, _start, n);
                _start += n;
                left -= n;
            }

            return Convert.ToHexString(sha.GetHashAndReset());
        }

        private async Task<byte> ReadByteAsync()
        {
            if (_start == _end)
            {
                await FillAsync();
            }

            return _buffer[_start++];
        }

        private async Task FillAsync()
        {
            // Pause now and then so the server's send buffer fills and its sends wait for writability.
            if (++_reads % 64 == 0)
            {
                await Task.Delay(5, cancellationToken);
            }

            var n = await socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken);
            Assert.True(n > 0, "the server closed the connection before the response was complete");
            _start = 0;
            _end = n;
        }
    }
}
