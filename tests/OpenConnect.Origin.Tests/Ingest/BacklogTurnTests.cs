using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The worker's choice of the next title (<see cref="PipelineWorker.PickNext"/>): uploaders take
/// turns, so a newcomer waits for at most one title of each uploader ahead of them, not for a whole
/// backlog share queued earlier.
/// </summary>
public sealed class BacklogTurnTests
{
    /// <param name="queue">Unfinished titles oldest first, as <c>{uploader}{n}</c>; a trailing <c>*</c> marks one left processing.</param>
    /// <param name="served">Last turn per uploader, as <c>{uploader}={turn}</c>.</param>
    /// <param name="expected">The title picked, or null when none waits.</param>
    [Theory]
    [InlineData("a1 a2 a3", "", "a1")]
    [InlineData("a1 a2 a3 b1", "", "a1")]
    [InlineData("a2 a3 b1", "a=1", "b1")]
    [InlineData("a2 a3 b2", "a=1 b=2", "a2")]
    [InlineData("a2 a3 b1 c1", "a=1", "b1")]
    [InlineData("a3 c1", "a=3 b=2", "c1")]
    [InlineData("a2 b1 a3*", "b=9", "a3")]
    [InlineData("x1 a1", "a=4 x=5", "a1")]
    [InlineData("", "a=1", null)]
    public void TheOldestTitleOfTheUploaderServedLeastRecently_GoesNext(string queue, string served, string? expected)
    {
        var titles = queue.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Title).ToList();
        var turns = served.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(expected, PipelineWorker.PickNext(titles, turns)?.Id);
    }

    [Fact]
    public void TakingTurns_ANewcomerWaitsForOneTitleOfAnUploaderWithAFullShare_WhereFifoMadeItWaitForAll()
    {
        List<TitleRecord> queue = [Title("a1"), Title("a2"), Title("a3"), Title("a4"), Title("a5"), Title("b1")];
        var turns = new Dictionary<string, long>();
        var order = new List<string>();
        for (var turn = 1; queue.Count > 0; turn++)
        {
            var next = PipelineWorker.PickNext(queue, turns)!;
            turns[PipelineWorker.UploaderOf(next)] = turn;
            queue.Remove(next);
            order.Add(next.Id);
        }

        Assert.Equal(["a1", "b1", "a2", "a3", "a4", "a5"], order);
    }

    private static TitleRecord Title(string name)
    {
        var processing = name.EndsWith('*');
        var id = name.TrimEnd('*');
        var now = DateTimeOffset.UnixEpoch;
        return new TitleRecord(
            id,
            "upload-" + id,
            processing ? TitleStates.Processing : TitleStates.Queued,
            null,
            0,
            null,
            new Dictionary<string, string> { [CatalogSync.UploaderKey] = id[..1] },
            null,
            null,
            [],
            now,
            now,
            null,
            null);
    }
}
