using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin.Protection;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Protection;

/// <summary>
/// The ClearKey license endpoint on a real origin over real HTTP: keys only for a valid playback token
/// of that title and client, only the title's own key id, with CORS, no-store, a rate limit, a log
/// line and a counter per request.
/// </summary>
public sealed class LicenseEndpointTests
{
    private static readonly Ed25519SigningKey Steering = Ed25519SigningKey.Generate();

    [Fact]
    public async Task AValidToken_GetsTheTitlesKey_WhichDecryptsWhatTheOriginKeyEncrypted()
    {
        using var dir = new TempDirectory();
        var logs = new CapturedLogs();
        await using var origin = await StartAsync(dir, logs);
        var keys = origin.Services.GetRequiredService<ITitleKeys>();
        var t1 = keys.GetOrCreate("t1");
        using var client = origin.CreateClient();

        var response = await PostAsync(client, LicenseEndpoint.LicensePath(Token("t1", clientPrefix: "127.0.0.0/24"), "t1"), Request(t1.KeyId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));

        var license = await LicenseKeysAsync(response);
        var (kid, key) = Assert.Single(license);
        Assert.Equal(t1.KeyId, kid);
        Assert.Equal(t1.Key, key);

        // What the packager encrypts with the origin's key (AES-128-CTR, as cenc does), the player's
        // CDM decrypts with the licensed key.
        var sample = RandomNumberGenerator.GetBytes(1000);
        var iv = RandomNumberGenerator.GetBytes(16);
        Assert.Equal(sample, AesCtr(key, iv, AesCtr(t1.Key, iv, sample)));
        Assert.NotEqual(sample, AesCtr(keys.GetOrCreate("t2").Key, iv, AesCtr(t1.Key, iv, sample)));

        var line = Assert.Single(logs.Entries, e => e.EventId.Id == 5002);
        Assert.Equal("t1", line.Fields["TitleId"]);
        Assert.Equal("127.0.0.1", line.Fields["Client"]);
        Assert.Equal(1, line.Fields["KeyCount"]);
        var granted = await MetricAsync(origin, "openconnect_origin_license_requests_total", ("outcome", "granted"));
        Assert.Equal(1, granted);
        Assert.Equal(1, await MetricAsync(origin, "openconnect_origin_license_keys_issued_total"));
        AssertNoKeyInLogs(logs, t1, keys.GetOrCreate("t2"));
    }

    [Fact]
    public async Task NoToken_BadTokens_AnotherTitle_AndAnotherClient_Get403_AndNoKey()
    {
        using var dir = new TempDirectory();
        var logs = new CapturedLogs();
        await using var origin = await StartAsync(dir, logs);
        var keys = origin.Services.GetRequiredService<ITitleKeys>();
        var t1 = keys.GetOrCreate("t1");
        var t2 = keys.GetOrCreate("t2");
        using var client = origin.CreateClient();
        var body = Request(t1.KeyId);

        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        var good = Token("t1");
        var tampered = good[..^2] + (good[^2] == 'A' ? "B" : "A") + good[^1];
        var cases = new (string Path, string Reason)[]
        {
            // Loopback is a parent network here: it may pull unsigned content, but gets no keys without a token.
            ("/license/v/t1/clearkey", "playback token missing"),
            (LicenseEndpoint.LicensePath(UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddSeconds(-1), UrlToken.TitlePrefix("t1")), "t1"), "expired"),
            (LicenseEndpoint.LicensePath(Token("t2"), "t1"), "does not cover this path"),
            (LicenseEndpoint.LicensePath(Token("t1", clientPrefix: "10.1.2.0/24"), "t1"), "another client network"),
            (LicenseEndpoint.LicensePath(Token("t1", clientPrefix: "2001:db8:1::/48"), "t1"), "another client network"),
            (LicenseEndpoint.LicensePath(UrlToken.Sign(Ed25519SigningKey.Generate(), later, UrlToken.TitlePrefix("t1")), "t1"), "unknown key"),
            (LicenseEndpoint.LicensePath(tampered, "t1"), "playback token"),
            (LicenseEndpoint.LicensePath("not-a-token", "t1"), "malformed"),

            // An unknown title with a bad token is refused like a known one: nothing tells them apart.
            ("/license/v/nope/clearkey", "playback token missing"),
            (LicenseEndpoint.LicensePath(Token("t1"), "nope"), "does not cover this path"),
        };

        foreach (var (path, reason) in cases)
        {
            var response = await PostAsync(client, path, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path}: {(int)response.StatusCode} {text}");
            Assert.Contains(reason, text);
            Assert.DoesNotContain("\"k\"", text, StringComparison.Ordinal);
            Assert.True(response.Headers.CacheControl?.NoStore);
            Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        }

        Assert.Equal(cases.Length, await MetricAsync(origin, "openconnect_origin_license_requests_total", ("outcome", "forbidden")));
        var refusals = logs.Entries.Where(e => e.EventId.Id == 5003).ToList();
        Assert.Equal(cases.Length, refusals.Count);
        Assert.All(refusals, e => Assert.Equal("forbidden", e.Fields["Outcome"]));
        AssertNoKeyInLogs(logs, t1, t2);
    }

    [Fact]
    public async Task OnlyTheTitlesOwnKeyIds_AreAnswered()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir);
        var keys = origin.Services.GetRequiredService<ITitleKeys>();
        var t1 = keys.GetOrCreate("t1");
        var t2 = keys.GetOrCreate("t2");
        using var client = origin.CreateClient();
        var path = LicenseEndpoint.LicensePath(Token("t1"), "t1");

        // A valid t1 token asking for t2's key id: not answered.
        var other = await PostAsync(client, path, Request(t2.KeyId));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        var text = await other.Content.ReadAsStringAsync();
        Assert.Contains("none of the requested key ids belongs to title t1", text);
        Assert.DoesNotContain(Base64Url.EncodeToString(t2.Key), text, StringComparison.Ordinal);

        // Both key ids: only t1's comes back.
        var both = await PostAsync(client, path, Request(t2.KeyId, t1.KeyId));
        Assert.Equal(HttpStatusCode.OK, both.StatusCode);
        var (kid, key) = Assert.Single(await LicenseKeysAsync(both));
        Assert.Equal(t1.KeyId, kid);
        Assert.Equal(t1.Key, key);

        // A valid token for a title without a key: 404, and the title is not given one.
        var unprotected = await PostAsync(client, LicenseEndpoint.LicensePath(Token("t3"), "t3"), Request(t1.KeyId));
        Assert.Equal(HttpStatusCode.NotFound, unprotected.StatusCode);
        Assert.Contains("title t3 is not protected", await unprotected.Content.ReadAsStringAsync());
        Assert.False(keys.TryGet("t3", out _));
        Assert.Equal(2, await MetricAsync(origin, "openconnect_origin_license_requests_total", ("outcome", "not_found")));
    }

    [Fact]
    public async Task ADamagedKeyRow_Gets500_WithoutDetails_AndIsLogged()
    {
        using var dir = new TempDirectory();
        var logs = new CapturedLogs();
        await using var origin = await StartAsync(dir, logs);
        var t1 = origin.Services.GetRequiredService<ITitleKeys>().GetOrCreate("t1");
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dir.Combine("keys.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE title_keys SET wrapped_key = zeroblob(44) WHERE title_id = 't1'";
            command.ExecuteNonQuery();
        }

        using var client = origin.CreateClient();
        var response = await PostAsync(client, LicenseEndpoint.LicensePath(Token("t1"), "t1"), Request(t1.KeyId));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("the title's key is unavailable", text);
        Assert.DoesNotContain("keys.db", text, StringComparison.Ordinal);
        var error = Assert.Single(logs.Entries, e => e.EventId.Id == 5005);
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Equal(1, await MetricAsync(origin, "openconnect_origin_license_requests_total", ("outcome", "error")));
    }

    [Fact]
    public async Task BadBodies_Get400_AndAnOversizedOne413()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir);
        var t1 = origin.Services.GetRequiredService<ITitleKeys>().GetOrCreate("t1");
        using var client = origin.CreateClient();
        var path = LicenseEndpoint.LicensePath(Token("t1"), "t1");

        foreach (var (body, reason) in new[]
        {
            ("{\"kids\":[", "not JSON"),
            ("{}", "must be a non-empty array"),
            ("{\"kids\":[]}", "must be a non-empty array"),
            ("{\"kids\":[\"AAAA\"]}", "not the base64url of 16 bytes"),
            ("{\"kids\":[\"" + Convert.ToBase64String(t1.KeyId).TrimEnd('=').Replace('_', '+').Replace('-', '/') + "+/\"]}", "not the base64url of 16 bytes"),
            ("{\"kids\":[\"" + Base64Url.EncodeToString(t1.KeyId) + "\"],\"type\":\"persistent-license\"}", "temporary"),
        })
        {
            var response = await PostAsync(client, path, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)response.StatusCode} {text}");
            Assert.Contains(reason, text);
        }

        var padded = "{\"kids\":[\"" + Base64Url.EncodeToString(t1.KeyId) + "\"],\"pad\":\"" + new string('x', LicenseEndpoint.MaxBodyBytes) + "\"}";
        var large = await PostAsync(client, path, padded);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("larger than 4096 bytes", await large.Content.ReadAsStringAsync());

        // Without a Content-Length (chunked) the limit holds as well.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(padded))) };
        chunked.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.SendAsync(chunked)).StatusCode);
        Assert.Equal(8, await MetricAsync(origin, "openconnect_origin_license_requests_total", ("outcome", "bad_request")));
    }

    [Fact]
    public async Task AClientBeyondItsBurst_Gets429_WithRetryAfter()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir, logs: null, "--Origin:Protection:LicenseRequestBurst=3", "--Origin:Protection:LicenseRequestsPerSecond=1");
        var t1 = origin.Services.GetRequiredService<ITitleKeys>().GetOrCreate("t1");
        using var client = origin.CreateClient();
        var path = LicenseEndpoint.LicensePath(Token("t1"), "t1");

        // Refused requests count too: a client cannot probe tokens faster than the limit.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, path, Request(t1.KeyId))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(client, "/license/v/t1/clearkey", Request(t1.KeyId))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, path, Request(t1.KeyId))).StatusCode);
        var limited = await PostAsync(client, path, Request(t1.KeyId));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.Equal("*", Assert.Single(limited.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.DoesNotContain("\"k\"", await limited.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await MetricAsync(origin, "openconnect_origin_license_requests_total", ("outcome", "rate_limited")));

        // The bucket refills at the configured rate.
        await Task.Delay(retryAfter.Value + TimeSpan.FromMilliseconds(200));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, path, Request(t1.KeyId))).StatusCode);
    }

    [Fact]
    public async Task TheCorsPreflight_AllowsAJsonPost_FromAnyOrigin()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir);
        using var client = origin.CreateClient();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, LicenseEndpoint.LicensePath(Token("t1"), "t1"));
        preflight.Headers.Add("Origin", "https://player.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        var response = await client.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("POST", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        Assert.Contains("content-type", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));

        // Other methods are not routed to the license.
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync(LicenseEndpoint.LicensePath(Token("t1"), "t1"))).StatusCode);
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2:ffff::1", "2001:db8:1:2::")]
    public void TheRateLimitPartition_IsTheIpv4Address_OrTheIpv6Slash64(string client, string partition) =>
        Assert.Equal(IPAddress.Parse(partition), LicenseRateLimiter.PartitionOf(IPAddress.Parse(client)));

    private static Task<RunningRole> StartAsync(TempDirectory dir, CapturedLogs? logs = null, params string[] settings) => RunningRole.StartAsync(
        args => OriginHost.Build(args, services =>
        {
            if (logs is not null)
            {
                services.AddSingleton<ILoggerProvider>(logs);
            }
        }),
        [
            $"--Origin:DataDirectory={dir.Path}",
            $"--Origin:PlaybackKeys:0={Steering.PublicKey}",
            "--Origin:Protection:LicenseRequestBurst=1000",
            .. settings,
        ]);

    private static string Token(string titleId, string? clientPrefix = null) =>
        UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix(titleId), clientPrefix);

    private static string Request(params byte[][] kids) =>
        JsonSerializer.Serialize(new { kids = kids.Select(k => Base64Url.EncodeToString(k)).ToArray(), type = "temporary" });

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string body) =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    private static async Task<List<(byte[] Kid, byte[] Key)>> LicenseKeysAsync(HttpResponseMessage response)
    {
        using var license = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("temporary", license.RootElement.GetProperty("type").GetString());
        return license.RootElement.GetProperty("keys").EnumerateArray().Select(jwk =>
        {
            Assert.Equal("oct", jwk.GetProperty("kty").GetString());
            return (Base64Url.DecodeFromChars(jwk.GetProperty("kid").GetString()), Base64Url.DecodeFromChars(jwk.GetProperty("k").GetString()));
        }).ToList();
    }

    private static async Task<double?> MetricAsync(RunningRole origin, string name, params (string, string)[] labels)
    {
        var document = await origin.MetricsAsync();
        return document.Value(name, labels);
    }

    private static void AssertNoKeyInLogs(CapturedLogs logs, params TitleKey[] keys)
    {
        foreach (var entry in logs.Entries)
        {
            var text = entry.Message + string.Join('|', entry.Fields.Values);
            foreach (var key in keys)
            {
                Assert.DoesNotContain(Base64Url.EncodeToString(key.Key), text, StringComparison.Ordinal);
                Assert.DoesNotContain(Convert.ToHexStringLower(key.Key), text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(Convert.ToBase64String(key.Key), text, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>AES-128-CTR (the cenc scheme) over <paramref name="data"/> with a 16-byte counter block.</summary>
    private static byte[] AesCtr(byte[] key, byte[] iv, byte[] data)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var counter = (byte[])iv.Clone();
        var stream = new byte[16];
        var output = new byte[data.Length];
        for (var offset = 0; offset < data.Length; offset += 16)
        {
            aes.EncryptEcb(counter, stream, PaddingMode.None);
            for (var i = 0; i < 16 && offset + i < data.Length; i++)
            {
                output[offset + i] = (byte)(data[offset + i] ^ stream[i]);
            }

            for (var i = 15; i >= 0 && ++counter[i] == 0; i--)
            {
            }
        }

        return output;
    }
}
