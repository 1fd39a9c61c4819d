namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>Chunk job states as stored.</summary>
public static class ChunkJobStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
}

/// <summary>
/// One chunk encode job as stored: <c>Spec</c> says what to encode (a <see cref="ChunkJobSpec"/> as
/// JSON), <c>Output</c> where a completed job's outputs are, relative to the data directory.
/// </summary>
public sealed record ChunkJob(
    string TitleId,
    int Chunk,
    string State,
    string Spec,
    int Attempts,
    string? LeaseOwner,
    DateTimeOffset? LeaseUntil,
    double Progress,
    string? Output,
    string? Error,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);

/// <summary>
/// A claim on a chunk job, valid until <see cref="Until"/> unless renewed. <see cref="Token"/> names
/// this claim alone: a worker that lost it (the lease ran out and another worker claimed the job)
/// can neither renew nor complete it.
/// </summary>
public sealed record ChunkLease(string TitleId, int Chunk, string Token, string Owner, string Spec, int Attempt, DateTimeOffset Until);

/// <summary>
/// The chunk job queue: the title's coordinator enqueues a title's chunks, workers (in the origin or
/// separate processes) claim them with a lease, renew it while ffmpeg runs and complete them with
/// the output recorded. Every change to a claimed job is conditional on the claim's token and an
/// unexpired lease, so a chunk is recorded done once, by the worker that held it.
/// </summary>
public sealed partial class JobStore
{
    /// <summary>Queues a title's chunk jobs in claim order; a chunk already queued (a resumed title) keeps its row.</summary>
    public void EnqueueChunks(string titleId, IReadOnlyList<(int Chunk, string Spec)> jobs)
    {
        using var connection = _database.Open();
        using var transaction = connection.BeginTransaction();
        var now = Now();
        for (var i = 0; i < jobs.Count; i++)
        {
            using var command = Command(
                connection,
                """
                INSERT INTO chunk_jobs (title_id, chunk, ordinal, state, spec, created_at) VALUES (@t, @c, @o, 'queued', @spec, @now)
                ON CONFLICT (title_id, chunk) DO NOTHING
                """,
                ("@t", titleId),
                ("@c", jobs[i].Chunk),
                ("@o", i),
                ("@spec", jobs[i].Spec),
                ("@now", now));
            command.Transaction = transaction;
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>
    /// Claims the oldest claimable job for <paramref name="owner"/> until now + <paramref name="lease"/>:
    /// a queued one whose retry time has come, or a running one whose lease ran out (its worker died)
    /// and that has attempts left. Null when there is none. On PostgreSQL rows other claims hold are
    /// skipped (<c>FOR UPDATE SKIP LOCKED</c>); SQLite has one writer at a time.
    /// </summary>
    public ChunkLease? ClaimChunk(string owner, TimeSpan lease, int maxAttempts)
    {
        var now = Now();
        var token = Guid.NewGuid().ToString("N");
        var until = now + (long)lease.TotalMilliseconds;
        using var connection = _database.Open();
        using var command = Command(
            connection,
            $"""
            UPDATE chunk_jobs SET state = 'running', attempts = attempts + 1, lease_token = @token, lease_owner = @owner,
                lease_until = @until, progress = 0, started_at = @now, error = NULL
            WHERE (title_id, chunk) = (
                SELECT title_id, chunk FROM chunk_jobs
                WHERE (state = 'queued' AND not_before <= @now) OR (state = 'running' AND lease_until < @now AND attempts < @max)
                ORDER BY created_at, ordinal
                LIMIT 1 {_database.SkipLocked})
            RETURNING title_id, chunk, spec, attempts
            """,
            ("@token", token),
            ("@owner", owner),
            ("@until", until),
            ("@now", now),
            ("@max", maxAttempts));
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new ChunkLease(reader.GetString(0), Int(reader, 1), token, owner, reader.GetString(2), Int(reader, 3), DateTimeOffset.FromUnixTimeMilliseconds(until))
            : null;
    }

    /// <summary>Extends a lease to now + <paramref name="lease"/> and records the job's progress (0..1); false when the claim is lost.</summary>
    public bool RenewChunk(ChunkLease claim, TimeSpan lease, double progress) =>
        ChangeClaimed(claim, "lease_until = @a, progress = @b", Now() + (long)lease.TotalMilliseconds, Math.Clamp(progress, 0, 1)) == 1;

    /// <summary>
    /// Records the job done with its outputs at <paramref name="output"/> (relative to the data
    /// directory). False, and nothing recorded, when the claim is lost: its lease ran out, another
    /// worker claimed the job, or the job was withdrawn.
    /// </summary>
    public bool CompleteChunk(ChunkLease claim, string output) =>
        ChangeClaimed(claim, "state = 'done', output = @a, progress = 1, finished_at = @b, lease_token = NULL, lease_until = NULL", output, Now()) == 1;

    /// <summary>
    /// Records a failed attempt: queued again from <paramref name="retryAt"/>, or failed for good when
    /// that is null. False when the claim is lost (the job is another worker's now).
    /// </summary>
    public bool FailChunk(ChunkLease claim, string error, DateTimeOffset? retryAt) => retryAt is { } at
        ? ChangeClaimed(claim, "state = 'queued', error = @a, not_before = @b, lease_token = NULL, lease_until = NULL", error, at.ToUnixTimeMilliseconds()) == 1
        : ChangeClaimed(claim, "state = 'failed', error = @a, finished_at = @b, lease_token = NULL, lease_until = NULL", error, Now()) == 1;

    /// <summary>
    /// Fails the running jobs whose lease ran out with no attempts left: a chunk that keeps taking its
    /// worker down (out of memory, a crash) fails its title instead of being claimed forever.
    /// </summary>
    public int FailAbandonedChunks(int maxAttempts) => Execute(
        "UPDATE chunk_jobs SET state = 'failed', error = @error, finished_at = @now, lease_token = NULL WHERE state = 'running' AND lease_until < @now AND attempts >= @max",
        ("@error", $"its worker stopped renewing the lease on each of {maxAttempts} attempts"),
        ("@now", Now()),
        ("@max", maxAttempts));

    /// <summary>The title's chunk jobs by chunk.</summary>
    public IReadOnlyList<ChunkJob> ChunkJobs(string titleId)
    {
        using var connection = _database.Open();
        using var command = Command(
            connection,
            "SELECT title_id, chunk, state, spec, attempts, lease_owner, lease_until, progress, output, error, started_at, finished_at FROM chunk_jobs WHERE title_id = @t ORDER BY chunk",
            ("@t", titleId));
        using var reader = command.ExecuteReader();
        var jobs = new List<ChunkJob>();
        while (reader.Read())
        {
            jobs.Add(new ChunkJob(
                reader.GetString(0),
                Int(reader, 1),
                reader.GetString(2),
                reader.GetString(3),
                Int(reader, 4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                Time(reader, 6),
                reader.GetDouble(7),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                Time(reader, 10),
                Time(reader, 11)));
        }

        return jobs;
    }

    /// <summary>Withdraws a title's jobs that are not done (its title failed): their workers' renewals and completions are refused.</summary>
    public int WithdrawChunks(string titleId) => Execute("DELETE FROM chunk_jobs WHERE title_id = @t AND state <> 'done'", ("@t", titleId));

    /// <summary>Removes all of a title's jobs (it is published, or its work is gone).</summary>
    public int RemoveChunks(string titleId) => Execute("DELETE FROM chunk_jobs WHERE title_id = @t", ("@t", titleId));

    /// <summary>The owners holding claims (on running chunk jobs, or coordinating titles) whose owner name starts with <paramref name="prefix"/>.</summary>
    public IReadOnlyList<string> ClaimOwners(string prefix)
    {
        using var connection = _database.Open();
        using var command = Command(
            connection,
            "SELECT lease_owner FROM chunk_jobs WHERE state = 'running' UNION SELECT coordinator FROM titles WHERE coordinator IS NOT NULL AND state IN ('queued', 'processing')");
        using var reader = command.ExecuteReader();
        var owners = new List<string>();
        while (reader.Read())
        {
            if (!reader.IsDBNull(0) && reader.GetString(0).StartsWith(prefix, StringComparison.Ordinal))
            {
                owners.Add(reader.GetString(0));
            }
        }

        return owners;
    }

    /// <summary>
    /// Ends the leases <paramref name="owner"/> holds now (the process is known dead), so its jobs and
    /// titles are claimed again at once rather than when the leases run out. Its late completions stay refused.
    /// </summary>
    public int ExpireLeasesOf(string owner) =>
        Execute("UPDATE chunk_jobs SET lease_until = 0 WHERE state = 'running' AND lease_owner = @owner", ("@owner", owner))
        + Execute("UPDATE titles SET coordinator_until = 0 WHERE coordinator = @owner", ("@owner", owner));

    /// <summary>
    /// Claims the coordination of a queued or processing title for <paramref name="owner"/> until now +
    /// <paramref name="lease"/>: one process runs a title's steps, however many origins share the
    /// store. True when the title is free, its coordinator's lease ran out, or <paramref name="owner"/>
    /// holds it already (the call then renews it).
    /// </summary>
    public bool ClaimTitle(string titleId, string owner, TimeSpan lease) => Execute(
        """
        UPDATE titles SET coordinator = @owner, coordinator_until = @until
        WHERE id = @id AND state IN ('queued', 'processing') AND (coordinator IS NULL OR coordinator = @owner OR coordinator_until < @now)
        """,
        ("@id", titleId),
        ("@owner", owner),
        ("@until", Now() + (long)lease.TotalMilliseconds),
        ("@now", Now())) == 1;

    /// <summary>Extends <paramref name="owner"/>'s claim on a title; false when it lost it (its lease ran out and another process took the title).</summary>
    public bool RenewTitle(string titleId, string owner, TimeSpan lease) => Execute(
        "UPDATE titles SET coordinator_until = @until WHERE id = @id AND coordinator = @owner AND coordinator_until >= @now",
        ("@id", titleId),
        ("@owner", owner),
        ("@until", Now() + (long)lease.TotalMilliseconds),
        ("@now", Now())) == 1;

    /// <summary>Gives up <paramref name="owner"/>'s claim on a title (it ended, or the process stops).</summary>
    public void ReleaseTitle(string titleId, string owner) => Execute(
        "UPDATE titles SET coordinator = NULL, coordinator_until = NULL WHERE id = @id AND coordinator = @owner",
        ("@id", titleId),
        ("@owner", owner));

    /// <summary>Chunk jobs queued or running, over every title and worker.</summary>
    public int PendingChunkCount()
    {
        using var connection = _database.Open();
        using var command = Command(connection, "SELECT COUNT(*) FROM chunk_jobs WHERE state IN ('queued', 'running')");
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the title has chunk jobs queued or running.</summary>
    public bool HasPendingChunks(string titleId)
    {
        using var connection = _database.Open();
        using var command = Command(connection, "SELECT COUNT(*) FROM chunk_jobs WHERE title_id = @t AND state IN ('queued', 'running')", ("@t", titleId));
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private int ChangeClaimed(ChunkLease claim, string assignments, object? a, object? b) => Execute(
        $"UPDATE chunk_jobs SET {assignments} WHERE title_id = @t AND chunk = @c AND lease_token = @token AND state = 'running' AND lease_until >= @now",
        ("@t", claim.TitleId),
        ("@c", claim.Chunk),
        ("@token", claim.Token),
        ("@a", a),
        ("@b", b),
        ("@now", Now()));
}
