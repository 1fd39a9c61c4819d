using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>HTTPS: TLS terminates in Kestrel's TLS middleware and the segment server answers on the decrypted connection.</summary>
public sealed class HttpsTests
{
    [Fact]
    public async Task Https_ServesContent_ThroughKestrelTls()
    {
        using var state = new TempDirectory("openconnect-tls");
        await using var parent = await TestParent.StartAsync();
        var body = ApplianceHarness.RandomBytes(120_000, 77);
        parent.Put("/v/tls/720p/seg-1.m4s", body);
        await using var appliance = await RunningRole.StartAsync(
            ApplianceHost.Build,
            [
                .. HttpsPipelineTests.HttpsSettings(state),
                $"--Appliance:Cache:Directory={state.Combine("cache")}",
                "--Appliance:ControlUrl=https://127.0.0.1:0",
                ApplianceHarness.UnsignedLoopback,
                ApplianceHarness.AllowUnsignedContent,
                $"--Appliance:Parents:0={parent.BaseAddress}",
            ]);
        Assert.Equal("https", appliance.BaseAddress.Scheme);

        using var client = HttpsPipelineTests.TlsClient(appliance.BaseAddress);
        using (var miss = await client.GetAsync("/v/tls/720p/seg-1.m4s"))
        {
            Assert.Equal(body, await miss.Content.ReadAsByteArrayAsync());
            Assert.Equal("OpenConnect; fwd=uri-miss; fwd-status=200; stored", miss.Headers.GetValues("Cache-Status").Single());
        }

        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/v/tls/720p/seg-1.m4s");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        using var partial = await client.SendAsync(ranged);
        Assert.Equal(System.Net.HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(body.AsSpan(100, 100).ToArray(), await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal("bytes 100-199/120000", partial.Content.Headers.ContentRange?.ToString());
        Assert.Equal("OpenConnect; hit; detail=ram", partial.Headers.GetValues("Cache-Status").Single());
        Assert.Equal(1, parent.RequestsFor("/v/tls/720p/seg-1.m4s"));
    }
}
