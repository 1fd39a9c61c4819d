using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// Objects move RAM → SSD by the admission policy, SSD hits are promoted to RAM, and the SSD tier
/// survives SIGKILL without refetching; a corrupted object is dropped and refetched, never served.
/// The appliance runs as a real process here.
/// </summary>
public sealed class TieringAndRestartTests : IAsyncLifetime
{
    private const int Objects = 8;
    private TestParent _parent = null!;
    private readonly TempDirectory _state = new("openconnect-restart");
    private readonly Dictionary<string, byte[]> _bodies = [];

    public async Task InitializeAsync()
    {
        _parent = await TestParent.StartAsync();
        for (var i = 0; i < Objects; i++)
        {
            var path = $"/v/t3/480p/seg-{i:D5}.m4s";
            _bodies[path] = ApplianceHarness.RandomBytes(300_000, 100 + i);
            _parent.Put(path, _bodies[path]);
        }
    }

    public async Task DisposeAsync()
    {
        await _parent.DisposeAsync();
        _state.Dispose();
    }

    private string[] Settings(params string[] extra) =>
    [
        $"--Appliance:Cache:Directory={_state.Path}",
        "--Appliance:ControlUrl=https://127.0.0.1:0",
        $"--Appliance:Parents:0={_parent.BaseAddress}",
        "--Appliance:Cache:RamBytes=1048576",
        "--Appliance:Cache:SsdBytes=268435456",
        "--Appliance:Cache:CheckpointInterval=00:00:01",
        .. extra,
    ];

    private static double Metric(PrometheusText.Document metrics, string name, string tier) => metrics.Value(name, ("tier", tier)) ?? 0;

    /// <summary>Requests every object in passes until the SSD tier holds all of them.</summary>
    private async Task FillSsdAsync(RoleProcess appliance)
    {
        using var client = appliance.CreateClient();
        for (var pass = 0; pass < 12; pass++)
        {
            foreach (var (path, body) in _bodies)
            {
                Assert.Equal(body, await client.GetByteArrayAsync(path));
            }

            for (var wait = 0; wait < 10; wait++)
            {
                if (Metric(await appliance.MetricsAsync(), "openconnect_appliance_tier_objects", "ssd") == Objects)
                {
                    return;
                }

                await Task.Delay(100);
            }
        }

        Assert.Fail($"the SSD tier never held all {Objects} objects");
    }

    /// <param name="verified">
    /// With an integrity manifest the pull checks each body's SHA-256 and the SSD write puts that hash in the
    /// object header without hashing again; recovery verifies bodies against it, so a wrong hash would drop them.
    /// </param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SsdTier_SurvivesSigkill_AndServesWithoutRefetching(bool verified)
    {
        if (verified)
        {
            var key = OpenConnect.Contracts.Security.Ed25519SigningKey.FromSeed(Enumerable.Range(3, 32).Select(i => (byte)i).ToArray());
            var entries = _bodies.ToDictionary(b => b.Key["/v/t3/".Length..], b => new OpenConnect.Contracts.Content.IntegrityEntry(b.Value.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(b.Value))));
            _parent.Put("/v/t3/integrity.json", OpenConnect.Contracts.Content.IntegrityManifest.Create("t3", entries, key).ToJsonBytes());
        }

        await using (var first = await ApplianceProcess.StartAsync(null, Settings()))
        {
            await FillSsdAsync(first);
            var written = (await first.MetricsAsync()).Value("openconnect_appliance_ssd_bytes_written_total");
            Assert.True(written >= Objects * 300_000, $"SSD bytes written {written}");
            await first.KillAsync();
        }

        var fetchedBefore = _parent.TotalRequests;
        await using var second = await ApplianceProcess.StartAsync(null, Settings());
        Assert.Equal(Objects, (await second.MetricsAsync()).Value("openconnect_appliance_ssd_recovered_objects"));
        using var client = second.CreateClient();
        foreach (var (path, body) in _bodies)
        {
            Assert.Equal(body, await client.GetByteArrayAsync(path));
        }

        Assert.Equal(fetchedBefore, _parent.TotalRequests);
        var metrics = await second.MetricsAsync();
        Assert.Equal(0, metrics.Value("openconnect_appliance_ssd_corrupt_dropped_total") ?? 0);
        Assert.Equal(1, _parent.RequestsFor("/v/t3/integrity.json"));
        Assert.Equal(Objects, Metric(metrics, "openconnect_appliance_requests_total", "ssd") + Metric(metrics, "openconnect_appliance_requests_total", "ram"));
        Assert.True(Metric(metrics, "openconnect_appliance_requests_total", "ssd") >= 1);
        Assert.Equal(0, Metric(metrics, "openconnect_appliance_requests_total", "miss"));
    }

    [Fact]
    public async Task CorruptedObject_IsDroppedAndRefetched_NeverServed()
    {
        await using (var first = await ApplianceProcess.StartAsync(null, Settings()))
        {
            await FillSsdAsync(first);
            await first.StopAsync();
        }

        // Flip one body byte of one object file on disk.
        var victimPath = _bodies.Keys.First();
        var files = Directory.GetFiles(Path.Combine(_state.Path, "ssd"), "*.obj", SearchOption.AllDirectories);
        Assert.Equal(Objects, files.Length);
        var victim = files.Single(f => System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(f).AsSpan(0, 4096)).Contains(victimPath, StringComparison.Ordinal));
        await using (var stream = new FileStream(victim, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 4096 + 1234;
            var b = stream.ReadByte();
            stream.Position = 4096 + 1234;
            stream.WriteByte((byte)(b ^ 0x5A));
        }

        var fetchedBefore = _parent.RequestsFor(victimPath);
        await using var second = await ApplianceProcess.StartAsync(null, Settings());
        using var client = second.CreateClient();
        Assert.Equal(_bodies[victimPath], await client.GetByteArrayAsync(victimPath));
        Assert.Equal(fetchedBefore + 1, _parent.RequestsFor(victimPath));
        Assert.Equal(1, (await second.MetricsAsync()).Value("openconnect_appliance_ssd_corrupt_dropped_total"));
        foreach (var (path, body) in _bodies.Skip(1))
        {
            Assert.Equal(body, await client.GetByteArrayAsync(path));
        }
    }

    [Fact]
    public async Task SsdHits_ArePromotedToRam_AndRamHitsAlsoGoOutWithSendfile()
    {
        await using (var warm = await ApplianceProcess.StartAsync(null, Settings()))
        {
            await FillSsdAsync(warm);
            await warm.StopAsync();
        }

        // Restart with a RAM tier that can hold a few objects: SSD hits are offered to it.
        var trace = Path.Combine(_state.Path, "strace-ram.txt");
        await using var appliance = await ApplianceProcess.StartAsync(["strace", "-f", "-e", "trace=sendfile", "-o", trace], Settings("--Appliance:Cache:RamBytes=4194304"));
        using var client = appliance.CreateClient();
        var path = _bodies.Keys.Last();
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(_bodies[path], await client.GetByteArrayAsync(path));
            await Task.Delay(50);
        }

        var metrics = await appliance.MetricsAsync();
        var ramHits = Metric(metrics, "openconnect_appliance_requests_total", "ram");
        var ssdHits = Metric(metrics, "openconnect_appliance_requests_total", "ssd");
        Assert.True(ramHits >= 1, "no RAM hit after repeated SSD hits");
        Assert.Equal(6, ramHits + ssdHits);
        Assert.True(Metric(metrics, "openconnect_appliance_admissions_total", "ram") >= 1);

        // Every hit, RAM included, is a sendfile (from the object file or the RAM tier's memfd): no user-space copy.
        var calls = File.ReadAllLines(trace).Count(l => l.Contains("sendfile(", StringComparison.Ordinal) && !l.Contains("= -1", StringComparison.Ordinal));
        Assert.True(calls >= 6, $"6 hits ({ramHits} from RAM), but strace saw {calls} sendfile calls");
    }

    [Fact]
    public async Task SsdHits_GoOutWithSendfile()
    {
        var trace = Path.Combine(_state.Path, "strace.txt");
        await using (var warm = await ApplianceProcess.StartAsync(null, Settings()))
        {
            await FillSsdAsync(warm);
            await warm.StopAsync();
        }

        await using var traced = await ApplianceProcess.StartAsync(["strace", "-f", "-e", "trace=sendfile", "-o", trace], Settings("--Appliance:Cache:RamBytes=65536"));
        using var client = traced.CreateClient();
        foreach (var (path, body) in _bodies)
        {
            Assert.Equal(body, await client.GetByteArrayAsync(path));
        }

        Assert.True(Metric(await traced.MetricsAsync(), "openconnect_appliance_requests_total", "ssd") >= Objects);
        var calls = File.ReadAllLines(trace).Count(l => l.Contains("sendfile(", StringComparison.Ordinal) && !l.Contains("= -1", StringComparison.Ordinal));
        Assert.True(calls >= Objects, $"expected sendfile calls for {Objects} SSD hits, strace saw {calls}");
    }

    [Fact]
    public async Task DiskFull_DegradesToPassThrough_WithErrorMetric()
    {
        var cache = Path.Combine(_state.Path, "small");
        Directory.CreateDirectory(cache);
        Assert.True(Run("mount", $"-t tmpfs -o size=1200k tmpfs {cache}"), "tmpfs could not be mounted: the disk-full test needs root");
        try
        {
            await using var appliance = await ApplianceProcess.StartAsync(null,
                [.. Settings().Where(s => !s.StartsWith("--Appliance:Cache:Directory", StringComparison.Ordinal)), $"--Appliance:Cache:Directory={cache}"]);
            using var client = appliance.CreateClient();
            for (var pass = 0; pass < 4; pass++)
            {
                foreach (var (path, body) in _bodies)
                {
                    Assert.Equal(body, await client.GetByteArrayAsync(path));
                }
            }

            var metrics = await appliance.MetricsAsync();
            Assert.True((metrics.Value("openconnect_appliance_cache_errors_total", ("kind", "ssd-write")) ?? 0) >= 1, "no SSD write error counted on a full disk");
            using var management = appliance.CreateManagementClient();
            using var health = await management.GetAsync("/healthz");
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
            Assert.Contains("Degraded", await health.Content.ReadAsStringAsync());
        }
        finally
        {
            Run("umount", cache);
        }
    }

    private static bool Run(string command, string arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
