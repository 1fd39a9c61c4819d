using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Serving;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>The access log: both line formats, the bounded queue's dropped lines, and reopening on SIGUSR1.</summary>
/// <remarks>
/// SIGUSR1 goes to the whole test process, and every access log in it reopens on it: the transport
/// variants of this class (each renames its own file, then signals) run in one collection, one after
/// the other, so one's signal never lands in the middle of the other's rotation.
/// </remarks>
[Collection(SignalCollection)]
public class AccessLogTests : TransportTests
{
    /// <summary>The collection of every test that sends the process SIGUSR1.</summary>
    public const string SignalCollection = "process signals (SIGUSR1)";

    private static readonly AccessEntry Entry = new(
        new DateTimeOffset(2026, 12, 6, 23, 33, 21, TimeSpan.Zero),
        IPAddress.Parse("192.0.2.7"),
        "GET",
        "/v/t1/1080p/seg-00001.m4s",
        206,
        1234,
        "ssd",
        TimeSpan.FromMilliseconds(1.5));

    [Fact]
    public void Combined_IsNginxsFormat()
    {
        Assert.Equal(
            "192.0.2.7 - - [06/Dec/2026:23:33:21 +0000] \"GET /v/t1/1080p/seg-00001.m4s HTTP/1.1\" 206 1234 \"-\" \"-\"",
            AccessLogFormat.FormatCombined(Entry));
    }

    [Fact]
    public void Combined_NamesAParentPullsCaller_AsTheRemoteUser()
    {
        Assert.StartsWith(
            "192.0.2.7 - openconnect://appliance/isp1/a1 [06/Dec/2026:23:33:21 +0000] \"GET ",
            AccessLogFormat.FormatCombined(Entry with { Caller = "openconnect://appliance/isp1/a1" }));
    }

    [Fact]
    public void Combined_EscapesQuotesInTheTarget()
    {
        var line = AccessLogFormat.FormatCombined(Entry with { Target = "/a\"b" });
        Assert.Contains("\"GET /a\\x22b HTTP/1.1\"", line);
    }

    [Fact]
    public void Json_IsOneObjectWithEveryField()
    {
        using var json = JsonDocument.Parse(AccessLogFormat.FormatJson(Entry));
        var root = json.RootElement;
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 23, 33, 21, TimeSpan.Zero), root.GetProperty("time").GetDateTimeOffset());
        Assert.Equal("192.0.2.7", root.GetProperty("client").GetString());
        Assert.Equal("GET", root.GetProperty("method").GetString());
        Assert.Equal("/v/t1/1080p/seg-00001.m4s", root.GetProperty("path").GetString());
        Assert.Equal(206, root.GetProperty("status").GetInt32());
        Assert.Equal(1234, root.GetProperty("bytes").GetInt64());
        Assert.Equal("ssd", root.GetProperty("cache").GetString());
        Assert.Equal(0.0015, root.GetProperty("seconds").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("caller").ValueKind);

        using var parent = JsonDocument.Parse(AccessLogFormat.FormatJson(Entry with { Caller = "openconnect://appliance/isp1/a1" }));
        Assert.Equal("openconnect://appliance/isp1/a1", parent.RootElement.GetProperty("caller").GetString());
    }

    [Fact]
    public void AFullQueue_DropsLines_AndCountsThem()
    {
        var options = Options.Create(new ApplianceOptions { AccessLog = new AccessLogOptions { Path = "/nonexistent/never-opened.log", QueueLines = 16 } });
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new ApplianceMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        using var log = new AccessLog(options, metrics);

        // The writer is not running: the queue fills and every line after the 16th is dropped, without waiting.
        for (var i = 0; i < 20; i++)
        {
            log.Write(Entry);
        }

        Assert.Equal(4, metrics.AccessLogDropped.Value);
    }

    [Fact]
    public async Task ServedRequests_AreLoggedAsJson_AndSigusr1ReopensTheFileForRotation()
    {
        using var logs = new TempDirectory("openconnect-access-log");
        var file = logs.Combine("access.log");
        await using var h = await StartAsync($"--Appliance:AccessLog:Path={file}", "--Appliance:AccessLog:Format=json");
        var body = ApplianceHarness.RandomBytes(30_000, 71);
        h.Parent.Put("/v/log/720p/seg-1.m4s", body);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(body, await client.GetByteArrayAsync("/v/log/720p/seg-1.m4s"));
        await CacheStatusTests.RamAdmissionsAsync(h, 1);
        Assert.Equal(body, await client.GetByteArrayAsync("/v/log/720p/seg-1.m4s"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/log/720p/missing.m4s")).StatusCode);

        var lines = await LinesAsync(file, 3);
        Assert.Equal(["miss", "ram", "miss"], lines.Select(l => l.GetProperty("cache").GetString()));
        Assert.Equal([200, 200, 404], lines.Select(l => l.GetProperty("status").GetInt32()));
        Assert.Equal([30_000L, 30_000L, 0L], lines.Select(l => l.GetProperty("bytes").GetInt64()));
        Assert.All(lines, l => Assert.Equal("127.0.0.1", l.GetProperty("client").GetString()));
        Assert.Equal("/v/log/720p/seg-1.m4s", lines[0].GetProperty("path").GetString());

        // logrotate: rename, then SIGUSR1; the next lines go to a new file by the old name.
        var rotated = logs.Combine("access.log.1");
        File.Move(file, rotated);
        using (var kill = Process.Start("kill", ["-USR1", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        Assert.Equal(body, await client.GetByteArrayAsync("/v/log/720p/seg-1.m4s"));
        var after = await LinesAsync(file, 1);
        Assert.Equal("ram", after[0].GetProperty("cache").GetString());
        Assert.Equal(3, File.ReadAllLines(rotated).Length);
    }

    /// <summary>Waits (up to 10 s) until <paramref name="file"/> holds <paramref name="count"/> complete lines.</summary>
    internal static async Task<List<JsonElement>> LinesAsync(string file, int count)
    {
        string[] lines = [];
        for (var i = 0; i < 200; i++)
        {
            if (File.Exists(file))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var text = await new StreamReader(stream).ReadToEndAsync();
                lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Length >= count && text.EndsWith('\n'))
                {
                    break;
                }
            }

            await Task.Delay(50);
        }

        Assert.Equal(count, lines.Length);
        return [.. lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }
}
