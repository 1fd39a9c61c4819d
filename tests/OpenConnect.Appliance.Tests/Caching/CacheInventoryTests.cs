using OpenConnect.Appliance.Caching;

namespace OpenConnect.Appliance.Tests.Caching;

public sealed class CacheInventoryTests
{
    [Theory]
    [InlineData("/v/t1/master.m3u8", "t1")]
    [InlineData("/v/t1/manifest.mpd", "t1")]
    [InlineData("/v/t1/720p/seg-00001.m4s", "t1/720p")]
    [InlineData("/v/t1/720p/index.m3u8", "t1/720p")]
    [InlineData("/healthz", null)]
    [InlineData("/v/../etc/passwd", null)]
    public void EntryFor_IsTheTitleOrTheRendition(string path, string? entry) =>
        Assert.Equal(entry, CacheInventory.EntryFor(path));

    [Fact]
    public void AnEntry_StaysWhileAnyObjectUnderItIsHeld_InEitherTier()
    {
        var inventory = new CacheInventory();
        inventory.Held(1, "/v/t1/720p/seg-1.m4s", InventoryTier.Ram);
        inventory.Held(2, "/v/t1/720p/seg-2.m4s", InventoryTier.Ssd);
        inventory.Held(1, "/v/t1/720p/seg-1.m4s", InventoryTier.Ssd);
        inventory.Held(3, "/v/t1/master.m3u8", InventoryTier.Ram);
        Assert.Equal(["t1", "t1/720p"], inventory.Snapshot().Order());

        // Object 1 leaves RAM but stays on SSD; object 2 leaves SSD: the rendition is still held.
        inventory.Dropped(1, InventoryTier.Ram);
        inventory.Dropped(2, InventoryTier.Ssd);
        Assert.Equal(["t1", "t1/720p"], inventory.Snapshot().Order());

        inventory.Dropped(1, InventoryTier.Ssd);
        Assert.Equal(["t1"], inventory.Snapshot().Order());

        // Unknown keys and repeated drops change nothing.
        inventory.Dropped(42, InventoryTier.Ram);
        inventory.Dropped(1, InventoryTier.Ssd);
        inventory.Dropped(3, InventoryTier.Ram);
        Assert.Empty(inventory.Snapshot());
        Assert.Equal(0, inventory.ObjectCount);
    }
}
