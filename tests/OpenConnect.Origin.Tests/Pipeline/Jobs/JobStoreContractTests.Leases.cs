using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>The lease rules of chunk jobs, on a fake clock.</summary>
public abstract partial class JobStoreContractTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public void EachJobIsClaimedByOneWorker_InTheOrderItWasQueued()
    {
        QueueChunks("aaaaaaaaaaa", 3, 1, 2);
        Clock.Advance(TimeSpan.FromMilliseconds(5));
        QueueChunks("bbbbbbbbbbb", 1);

        var claims = new[] { "w1", "w2", "w3", "w4" }.Select(w => Store.ClaimChunk(w, Lease, maxAttempts: 3)!).ToList();

        Assert.Equal([("aaaaaaaaaaa", 3), ("aaaaaaaaaaa", 1), ("aaaaaaaaaaa", 2), ("bbbbbbbbbbb", 1)], claims.Select(c => (c.TitleId, c.Chunk)));
        Assert.All(claims, c => Assert.Equal(1, c.Attempt));
        Assert.Equal("spec-3", claims[0].Spec);
        Assert.Null(Store.ClaimChunk("w5", Lease, maxAttempts: 3));
        var running = Store.ChunkJobs("aaaaaaaaaaa");
        Assert.All(running, j => Assert.Equal(ChunkJobStates.Running, j.State));
        Assert.Equal(["w2", "w3", "w1"], running.Select(j => j.LeaseOwner));
        Assert.Equal(Clock.GetUtcNow() + Lease, running[0].LeaseUntil);
        Assert.Equal(4, Store.PendingChunkCount());
    }

    [Fact]
    public void AJobWhoseLeaseRunsOut_IsClaimedAgain_AndTheFirstWorkersLateCompletionIsRefused()
    {
        QueueChunks("aaaaaaaaaaa", 1);
        var first = Store.ClaimChunk("w1", Lease, maxAttempts: 3)!;
        Clock.Advance(Lease - TimeSpan.FromMilliseconds(1));
        Assert.Null(Store.ClaimChunk("w2", Lease, maxAttempts: 3));

        Clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.False(Store.RenewChunk(first, Lease, 0.5));
        var second = Store.ClaimChunk("w2", Lease, maxAttempts: 3)!;
        Assert.Equal((first.TitleId, first.Chunk, 2), (second.TitleId, second.Chunk, second.Attempt));
        Assert.NotEqual(first.Token, second.Token);

        Assert.False(Store.CompleteChunk(first, "work/aaaaaaaaaaa/w1"));
        Assert.False(Store.FailChunk(first, "too late", retryAt: null));
        Assert.True(Store.CompleteChunk(second, "work/aaaaaaaaaaa/w2"));
        Assert.False(Store.CompleteChunk(second, "work/aaaaaaaaaaa/again"));
        Assert.False(Store.CompleteChunk(first, "work/aaaaaaaaaaa/w1"));

        var job = Assert.Single(Store.ChunkJobs("aaaaaaaaaaa"));
        Assert.Equal((ChunkJobStates.Done, "work/aaaaaaaaaaa/w2", 2, 1.0), (job.State, job.Output, job.Attempts, job.Progress));
        Assert.Equal(Clock.GetUtcNow(), job.FinishedAt);
        Assert.Null(Store.ClaimChunk("w3", Lease, maxAttempts: 3));
        Assert.Equal(0, Store.PendingChunkCount());
    }

    [Fact]
    public void ARenewedLease_KeepsTheJob_AndRecordsProgress()
    {
        QueueChunks("aaaaaaaaaaa", 1);
        var claim = Store.ClaimChunk("w1", Lease, maxAttempts: 3)!;
        for (var i = 1; i <= 4; i++)
        {
            Clock.Advance(Lease / 2);
            Assert.True(Store.RenewChunk(claim, Lease, i / 5.0));
            Assert.Null(Store.ClaimChunk("w2", Lease, maxAttempts: 3));
        }

        var job = Assert.Single(Store.ChunkJobs("aaaaaaaaaaa"));
        Assert.Equal(0.8, job.Progress, 3);
        Assert.Equal(Clock.GetUtcNow() + Lease, job.LeaseUntil);
        Assert.True(Store.CompleteChunk(claim, "out"));
    }

    [Fact]
    public void AFailedAttempt_IsRetriedFromItsRetryTime_AndAFinalFailureIsKept()
    {
        QueueChunks("aaaaaaaaaaa", 1);
        var first = Store.ClaimChunk("w1", Lease, maxAttempts: 3)!;
        Assert.True(Store.FailChunk(first, "ffmpeg exited with 1", Clock.GetUtcNow() + TimeSpan.FromSeconds(4)));
        Assert.Equal((ChunkJobStates.Queued, "ffmpeg exited with 1"), (Store.ChunkJobs("aaaaaaaaaaa")[0].State, Store.ChunkJobs("aaaaaaaaaaa")[0].Error));
        Assert.Null(Store.ClaimChunk("w2", Lease, maxAttempts: 3));

        Clock.Advance(TimeSpan.FromSeconds(4));
        var second = Store.ClaimChunk("w2", Lease, maxAttempts: 3)!;
        Assert.Equal(2, second.Attempt);
        Assert.True(Store.FailChunk(second, "out of memory", retryAt: null));

        var job = Assert.Single(Store.ChunkJobs("aaaaaaaaaaa"));
        Assert.Equal((ChunkJobStates.Failed, "out of memory"), (job.State, job.Error));
        Assert.Null(Store.ClaimChunk("w3", Lease, maxAttempts: 3));
        Assert.False(Store.CompleteChunk(second, "out"));
    }

    [Fact]
    public void AJobThatOutlivesEveryAttemptsLease_FailsInsteadOfBeingClaimedForever()
    {
        QueueChunks("aaaaaaaaaaa", 1);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            Assert.Equal(attempt, Store.ClaimChunk($"w{attempt}", Lease, maxAttempts: 2)!.Attempt);
            Clock.Advance(Lease + TimeSpan.FromSeconds(1));
            Assert.Equal(0, attempt == 1 ? Store.FailAbandonedChunks(maxAttempts: 2) : 0);
        }

        Assert.Null(Store.ClaimChunk("w3", Lease, maxAttempts: 2));
        Assert.Equal(1, Store.FailAbandonedChunks(maxAttempts: 2));
        var job = Assert.Single(Store.ChunkJobs("aaaaaaaaaaa"));
        Assert.Equal(ChunkJobStates.Failed, job.State);
        Assert.Contains("stopped renewing the lease", job.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void WithdrawnJobs_RefuseTheirWorkers_AndQueuingAgainKeepsDoneJobs()
    {
        QueueChunks("aaaaaaaaaaa", 1, 2);
        var one = Store.ClaimChunk("w1", Lease, maxAttempts: 3)!;
        var two = Store.ClaimChunk("w2", Lease, maxAttempts: 3)!;
        Assert.True(Store.CompleteChunk(one, "out-1"));

        Assert.Equal(1, Store.WithdrawChunks("aaaaaaaaaaa"));
        Assert.False(Store.RenewChunk(two, Lease, 0.5));
        Assert.False(Store.CompleteChunk(two, "out-2"));

        QueueChunks("aaaaaaaaaaa", 1, 2);
        Assert.Equal([(1, ChunkJobStates.Done, "out-1"), (2, ChunkJobStates.Queued, null)], Store.ChunkJobs("aaaaaaaaaaa").Select(j => (j.Chunk, j.State, j.Output)));
        Assert.Equal(2, Store.RemoveChunks("aaaaaaaaaaa"));
        Assert.Empty(Store.ChunkJobs("aaaaaaaaaaa"));
    }

    [Fact]
    public void TheLeasesOfAProcessKnownDead_EndAtOnce_AndItsCompletionIsRefused()
    {
        QueueChunks("aaaaaaaaaaa", 1, 2, 3);
        var dead = Store.ClaimChunk("host-a/41/1", Lease, maxAttempts: 3)!;
        var alive = Store.ClaimChunk("host-a/42/1", Lease, maxAttempts: 3)!;
        Store.ClaimChunk("host-b/41/1", Lease, maxAttempts: 3);

        Assert.Equal(["host-a/41/1", "host-a/42/1"], Store.ClaimOwners("host-a/").Order(StringComparer.Ordinal));
        Assert.Equal(1, Store.ExpireLeasesOf("host-a/41/1"));

        var again = Store.ClaimChunk("host-a/43/1", Lease, maxAttempts: 3)!;
        Assert.Equal((dead.Chunk, 2), (again.Chunk, again.Attempt));
        Assert.False(Store.CompleteChunk(dead, "late"));
        Assert.True(Store.RenewChunk(alive, Lease, 0.1));
    }

    [Fact]
    public void ATitleIsCoordinatedByOneProcess_UntilItsClaimRunsOutOrIsReleased()
    {
        QueueChunks("aaaaaaaaaaa", 1);
        Assert.True(Store.ClaimTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));
        Assert.False(Store.ClaimTitle("aaaaaaaaaaa", "host-b/2/titles", Lease));
        Assert.True(Store.ClaimTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));
        Assert.Equal(["host-a/1/titles"], Store.ClaimOwners("host-a/"));

        Clock.Advance(Lease / 2);
        Assert.True(Store.RenewTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));
        Clock.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.False(Store.ClaimTitle("aaaaaaaaaaa", "host-b/2/titles", Lease));

        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(Store.ClaimTitle("aaaaaaaaaaa", "host-b/2/titles", Lease));
        Assert.False(Store.RenewTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));

        Store.ReleaseTitle("aaaaaaaaaaa", "host-a/1/titles");
        Assert.False(Store.ClaimTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));
        Store.ReleaseTitle("aaaaaaaaaaa", "host-b/2/titles");
        Assert.True(Store.ClaimTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));

        Assert.True(Store.ExpireLeasesOf("host-a/1/titles") >= 1);
        Assert.True(Store.ClaimTitle("aaaaaaaaaaa", "host-b/2/titles", Lease));
        Store.SetState("aaaaaaaaaaa", TitleStates.Published, published: true);
        Store.ReleaseTitle("aaaaaaaaaaa", "host-b/2/titles");
        Assert.False(Store.ClaimTitle("aaaaaaaaaaa", "host-a/1/titles", Lease));
    }

    [Fact]
    public async Task WorkersClaimingAtOnceFromSeparateConnections_GetEveryJobOnce()
    {
        const int jobs = 24;
        QueueChunks("aaaaaaaaaaa", [.. Enumerable.Range(1, jobs)]);
        var workers = Enumerable.Range(0, 4).Select(_ => Engine.Open(Clock)).ToList();

        var claimed = await Task.WhenAll(workers.Select((store, w) => Task.Run(() =>
        {
            var mine = new List<int>();
            while (store.ClaimChunk($"w{w}", Lease, maxAttempts: 3) is { } claim)
            {
                Assert.True(store.CompleteChunk(claim, $"out-{claim.Chunk}"));
                mine.Add(claim.Chunk);
            }

            return mine;
        })));

        Assert.Equal(Enumerable.Range(1, jobs), claimed.SelectMany(c => c).Order());
        Assert.All(Store.ChunkJobs("aaaaaaaaaaa"), j => Assert.Equal((ChunkJobStates.Done, 1), (j.State, j.Attempts)));
    }

    private void QueueChunks(string titleId, params int[] chunks)
    {
        if (Store.Get(titleId) is null)
        {
            Store.Insert(titleId, "upload-" + titleId, TitleStates.Processing, null, new Dictionary<string, string>(), "/x", null, null);
        }

        Store.EnqueueChunks(titleId, [.. chunks.Select(c => (c, $"spec-{c}"))]);
    }
}
