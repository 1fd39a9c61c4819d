using OpenConnect.Appliance.Fill;

namespace OpenConnect.Appliance.Tests.Fill;

public sealed class RenditionRequestCounterTests
{
    [Fact]
    public void Counts_PerTitleAndRendition_AndADrainEmptiesTheTable()
    {
        var counter = new RenditionRequestCounter(16);
        counter.Record("t1", "720p");
        counter.Record("t1", "720p");
        counter.Record("t1", "360p");
        counter.Record("t2", "720p");

        var (counts, dropped) = counter.Drain();
        Assert.Equal(0, dropped);
        Assert.Equal(
            [("t1", "360p", 1L), ("t1", "720p", 2L), ("t2", "720p", 1L)],
            counts.OrderBy(c => c.Title, StringComparer.Ordinal).ThenBy(c => c.Rendition, StringComparer.Ordinal));
        Assert.Equal(0, counter.Count);
        Assert.Empty(counter.Drain().Counts);
    }

    [Fact]
    public void AFullTable_CountsRequestsOfNewKeysAsDropped_AndKeepsCountingKnownKeys()
    {
        var counter = new RenditionRequestCounter(2);
        counter.Record("a", "r0");
        counter.Record("b", "r0");
        counter.Record("c", "r0");
        counter.Add("d", "r0", 5);
        counter.Record("a", "r0");

        var (counts, dropped) = counter.Drain();
        Assert.Equal(6, dropped);
        Assert.Equal(2, counts.Single(c => c.Title == "a").Requests);
        Assert.Equal(2, counts.Count);

        // The drain frees the table for new keys.
        counter.Record("c", "r0");
        Assert.Equal([("c", "r0", 1L)], counter.Drain().Counts);
    }

    [Fact]
    public void CountingAKnownKey_AllocatesNothing()
    {
        var counter = new RenditionRequestCounter(1024);
        var titles = Enumerable.Range(0, 500).Select(i => $"title-{i}").ToArray();
        foreach (var title in titles)
        {
            counter.Record(title, "720p");
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < 10; round++)
        {
            foreach (var title in titles)
            {
                counter.Record(title, "720p");
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.All(counter.Drain().Counts, c => Assert.Equal(11, c.Requests));
    }

    [Fact]
    public async Task ConcurrentRequests_AreAllCounted()
    {
        var counter = new RenditionRequestCounter(64);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                counter.Record($"t{i % 8}", w % 2 == 0 ? "r0" : "r1");
            }
        })));

        var (counts, dropped) = counter.Drain();
        Assert.Equal(0, dropped);
        Assert.Equal(16, counts.Count);
        Assert.Equal(40_000, counts.Sum(c => c.Requests));
    }

    [Fact]
    public void ATableOfNoEntries_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RenditionRequestCounter(0));
}
