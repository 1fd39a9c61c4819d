using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Contracts.Security;
using OpenConnect.FillController.Placement;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// Night fill with the origin's key configured: a manifest the appliance cannot trust, or a body that
/// contradicts it, is refused, counted (<c>openconnect_appliance_integrity_refusals_total{via="fill"}</c>)
/// and never stored or pinned.
/// </summary>
public sealed class FillIntegrityTests
{
    private static readonly FileId R0 = new("t1", "r0");
    private static readonly DateTimeOffset Window = FillStack.Noon.AddHours(14).AddMinutes(1);
    private static readonly Ed25519SigningKey OtherKey = Ed25519SigningKey.FromSeed(Enumerable.Range(40, 32).Select(i => (byte)i).ToArray());

    private static string[] Trusting(Ed25519SigningKey key) => [$"--Appliance:Upstream:IntegrityKeys:0={key.PublicKey}", "--Appliance:Upstream:AllowUnsignedContent=false"];

    [Fact]
    public async Task AManifestSignedByAnUntrustedKey_IsRefusedAndCounted_AndNothingIsFetchedOrStored()
    {
        var title = new SyntheticTitle("t1", ["r0"], 3, 20_000, 41);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        var plan = new FixedPlan();
        plan.Set(("oca-1", [R0]));
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan);
        var appliance = stack.Own(await stack.StartApplianceAsync("oca-1", "isp1", Trusting(OtherKey)));

        await stack.MoveClockToAsync(Window);
        using var client = appliance.CreateManagementClient();
        await Eventually.TrueAsync(async () => await RefusalsAsync(client, "unknown_key") >= 1, "the fill refused the manifest");

        Assert.All(title.SegmentPaths("r0"), path => Assert.Equal(0, origin.RequestsFor(path)));
        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        Assert.Equal(0, cache.PinnedBytes);
        Assert.All(title.FilePaths("r0"), path => Assert.False(cache.HeldOnSsd(KeyHash.Of(path))));
    }

    [Fact]
    public async Task ATamperedObject_IsRefusedAndCounted_AndNeverStored_WhileTheIntactOnesAre()
    {
        var title = new SyntheticTitle("t1", ["r0"], 3, 20_000, 42);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        var tampered = title.PathOf("r0/seg-00002.m4s");
        var bytes = (byte[])title.Objects["r0/seg-00002.m4s"].Clone();
        bytes[^1] ^= 0xFF;
        origin.Put(tampered, bytes);
        var plan = new FixedPlan();
        plan.Set(("oca-1", [R0]));
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan);
        var appliance = stack.Own(await stack.StartApplianceAsync("oca-1", "isp1", Trusting(SyntheticTitle.OriginKey)));

        await stack.MoveClockToAsync(Window);
        using var client = appliance.CreateManagementClient();
        await Eventually.TrueAsync(async () => await RefusalsAsync(client, "hash_mismatch") >= 1, "the fill refused the tampered object");

        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        Assert.False(cache.HeldOnSsd(KeyHash.Of(tampered)));
        Assert.False(cache.IsPinned(KeyHash.Of(tampered)));
        Assert.True(cache.IsPinned(KeyHash.Of(title.PathOf("r0/seg-00001.m4s"))));
        Assert.Equal(0, await RefusalsAsync(client, "unknown_key"));
    }

    private static async Task<double> RefusalsAsync(HttpClient client, string reason) =>
        PrometheusText.Parse(await client.GetStringAsync("/metrics")).Value("openconnect_appliance_integrity_refusals_total", ("reason", reason), ("via", "fill")) ?? 0;
}
