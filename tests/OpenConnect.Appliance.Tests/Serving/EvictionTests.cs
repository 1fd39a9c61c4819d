namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>SSD evictions while object files are kept open: every response stays byte-exact.</summary>
public class EvictionTests : TransportTests
{
    [Fact]
    public async Task SmallSsdTier_EvictsAndReusesDescriptors_WithoutServingWrongBytes()
    {
        await using var h = await StartAsync("--Appliance:Cache:RamBytes=65536", "--Appliance:Cache:SsdBytes=1300000");
        var bodies = Enumerable.Range(0, 12).ToDictionary(i => $"/v/evict/360p/seg-{i:D5}.m4s", i => ApplianceHarness.RandomBytes(300_000, 500 + i));
        foreach (var (path, body) in bodies)
        {
            h.Parent.Put(path, body);
        }

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = h.BaseAddress };
        for (var pass = 0; pass < 5; pass++)
        {
            // Concurrent requests so evictions happen while other responses hold open files.
            var order = bodies.Keys.OrderBy(k => (k.GetHashCode() * 31) + pass).ToList();
            var results = await Task.WhenAll(order.Select(async path => (path, bytes: await client.GetByteArrayAsync(path))));
            foreach (var (path, bytes) in results)
            {
                Assert.Equal(bodies[path], bytes);
            }
        }

        var metrics = await h.MetricsAsync();
        Assert.True((metrics.Value("openconnect_appliance_evictions_total", ("tier", "ssd")) ?? 0) > 0, "the SSD tier never evicted");
        Assert.True((metrics.Value("openconnect_appliance_requests_total", ("tier", "ssd")) ?? 0) > 0, "no SSD hits");
    }
}
