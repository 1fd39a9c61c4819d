using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// The pipeline's durable state, the one owner of a title's state until it is published: titles,
/// the steps done for each, and the chunk encode jobs workers claim (<c>JobStore.Chunks.cs</c>). On
/// SQLite (<c>{DataDirectory}/pipeline.db</c>, WAL, <c>synchronous=FULL</c>) or PostgreSQL, through one
/// code path (<see cref="JobDatabase"/> holds what the engines spell differently). A step is recorded
/// done only after its outputs are renamed into place, so a restart redoes at most the step that was
/// running. The schema is versioned and migrated forward when the store opens.
/// </summary>
public sealed partial class JobStore : IDisposable
{
    private readonly JobDatabase _database;
    private readonly TimeProvider _time;

    public JobStore(JobDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
        database.Migrate();
    }

    /// <summary>A store on the SQLite file <paramref name="databasePath"/>.</summary>
    public static JobStore OpenSqlite(string databasePath, TimeProvider time) => new(JobDatabase.Sqlite(databasePath), time);

    /// <summary>A store on the PostgreSQL database of <paramref name="connectionString"/>.</summary>
    public static JobStore OpenPostgreSql(string connectionString, TimeProvider time) => new(JobDatabase.PostgreSql(connectionString), time);

    /// <summary>The engine and its location, for messages.</summary>
    public string Describe => _database.Describe;

    /// <summary>The schema version this build writes on the store's engine.</summary>
    public int SchemaVersion => _database.SchemaVersion;

    /// <summary>Raised with the title id after a title row is inserted or changed (state, progress, renditions, …).</summary>
    public event Action<string>? Changed;

    public TitleRecord? Get(string id) => ReadTitles("SELECT * FROM titles WHERE id = @id", ("@id", id)).FirstOrDefault();

    public TitleRecord? GetByUpload(string uploadId) => ReadTitles("SELECT * FROM titles WHERE upload_id = @u", ("@u", uploadId)).FirstOrDefault();

    /// <summary>Newest first.</summary>
    public IReadOnlyList<TitleRecord> List(int limit) =>
        ReadTitles($"SELECT * FROM titles ORDER BY created_at DESC, {_database.InsertionOrder} DESC LIMIT @limit", ("@limit", limit));

    /// <summary>
    /// The titles of <paramref name="uploaderId"/> (by the <c>uploader_id</c> metadata; "" is the
    /// titles uploaded without one), and those without one too when <paramref name="withAnonymous"/>,
    /// newest first.
    /// </summary>
    public IReadOnlyList<TitleRecord> ListByUploader(string uploaderId, bool withAnonymous, int limit) =>
        ReadTitles(
            $"SELECT * FROM titles WHERE uploader IN (@u, @anonymous) ORDER BY created_at DESC, {_database.InsertionOrder} DESC LIMIT @limit",
            ("@u", uploaderId),
            ("@anonymous", withAnonymous ? "" : uploaderId),
            ("@limit", limit));

    /// <summary>Titles queued or processing, oldest first: the work to resume.</summary>
    public IReadOnlyList<TitleRecord> Unfinished() =>
        ReadTitles($"SELECT * FROM titles WHERE state IN ('queued', 'processing') ORDER BY created_at, {_database.InsertionOrder}");

    /// <summary>
    /// One uploader's titles (by the <c>uploader_id</c> metadata; titles without one are the
    /// uploader "") in the backlog now and recorded since <paramref name="since"/>, with the
    /// duration of the accepted sources among the latter. Both scans use an index (state, created_at).
    /// </summary>
    public UploaderUsage UsageOf(string uploaderId, DateTimeOffset since)
    {
        using var connection = _database.Open();
        using var command = Command(
            connection,
            """
            SELECT
                (SELECT COUNT(*) FROM titles WHERE state IN ('queued', 'processing') AND uploader = @u),
                COUNT(*),
                MIN(created_at),
                COALESCE(SUM(CASE WHEN state <> 'rejected' THEN source_seconds END), 0)
            FROM titles
            WHERE created_at >= @since AND uploader = @u
            """,
            ("@u", uploaderId),
            ("@since", since.ToUnixTimeMilliseconds()));
        using var reader = command.ExecuteReader();
        reader.Read();
        return new UploaderUsage(
            Int(reader, 0),
            Int(reader, 1),
            Time(reader, 2),
            TimeSpan.FromSeconds(Convert.ToDouble(reader.GetValue(3), CultureInfo.InvariantCulture)));
    }

    /// <summary><see cref="UsageOf"/> over the last <paramref name="window"/> on the store's clock.</summary>
    public UploaderUsage UsageWithin(string uploaderId, TimeSpan window) => UsageOf(uploaderId, _time.GetUtcNow() - window);

    public Dictionary<string, int> CountByState()
    {
        using var connection = _database.Open();
        using var command = Command(connection, "SELECT state, COUNT(*) FROM titles GROUP BY state");
        using var reader = command.ExecuteReader();
        var counts = TitleStates.All.ToDictionary(s => s, _ => 0);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = Int(reader, 1);
        }

        return counts;
    }

    public void Insert(string id, string uploadId, string state, string? reason, IReadOnlyDictionary<string, string> metadata, string uploadPath, string? sourceFile, SourceInfo? source)
    {
        Execute(
            """
            INSERT INTO titles (id, upload_id, state, reason, metadata, uploader, upload_path, source_file, source, source_seconds, created_at, updated_at)
            VALUES (@id, @u, @state, @reason, @meta, @uploader, @up, @sf, @src, @seconds, @now, @now)
            """,
            ("@id", id),
            ("@u", uploadId),
            ("@state", state),
            ("@reason", reason),
            ("@meta", JsonSerializer.Serialize(metadata)),
            ("@uploader", metadata.GetValueOrDefault(CatalogSync.UploaderKey) ?? ""),
            ("@up", uploadPath),
            ("@sf", sourceFile),
            ("@src", source is null ? null : JsonSerializer.Serialize(source)),
            ("@seconds", source?.DurationSeconds),
            ("@now", Now()));
        Changed?.Invoke(id);
    }

    public string UploadPath(string id)
    {
        using var connection = _database.Open();
        using var command = Command(connection, "SELECT upload_path FROM titles WHERE id = @id", ("@id", id));
        return (string)command.ExecuteScalar()!;
    }

    public void SetState(string id, string state, string? reason = null, bool published = false)
    {
        Update(id, "state = @a, reason = @b, next_attempt_at = NULL" + (published ? ", published_at = @now, percent = 100, step = NULL" : ""), state, reason);
    }

    public void SetProgress(string id, string step, double percent) => Update(id, "step = @a, percent = @b", step, Math.Round(percent, 1));

    public void SetSource(string id, SourceInfo source) => Update(id, "source = @a, source_seconds = @b", JsonSerializer.Serialize(source), source.DurationSeconds);

    public void SetRenditions(string id, IReadOnlyList<RenditionInfo> renditions) => Update(id, "renditions = @a", JsonSerializer.Serialize(renditions), null);

    public void SetNextAttempt(string id, DateTimeOffset? at) => Update(id, "next_attempt_at = @a", at?.ToUnixTimeMilliseconds(), null);

    public IReadOnlyList<StepRecord> Steps(string id)
    {
        using var connection = _database.Open();
        using var command = Command(
            connection,
            $"SELECT name, state, attempts, started_at, finished_at, error FROM steps WHERE title_id = @id ORDER BY COALESCE(started_at, 0), {_database.InsertionOrder}",
            ("@id", id));
        using var reader = command.ExecuteReader();
        var steps = new List<StepRecord>();
        while (reader.Read())
        {
            steps.Add(new StepRecord(reader.GetString(0), reader.GetString(1), Int(reader, 2), Time(reader, 3), Time(reader, 4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return steps;
    }

    public void StepStarted(string titleId, string step) => Execute(
        """
        INSERT INTO steps (title_id, name, state, attempts, started_at) VALUES (@id, @name, 'running', 1, @now)
        ON CONFLICT (title_id, name) DO UPDATE SET state = 'running', attempts = steps.attempts + 1, started_at = @now, error = NULL
        """,
        ("@id", titleId),
        ("@name", step),
        ("@now", Now()));

    public void StepFinished(string titleId, string step, string? error) => Execute(
        "UPDATE steps SET state = @state, finished_at = @now, error = @error WHERE title_id = @id AND name = @name",
        ("@id", titleId),
        ("@name", step),
        ("@state", error is null ? "done" : "failed"),
        ("@error", error),
        ("@now", Now()));

    /// <summary>Records a step done elsewhere (a chunk job a worker ran) with its attempts and times.</summary>
    public void StepDone(string titleId, string step, int attempts, DateTimeOffset? startedAt, DateTimeOffset finishedAt) => Execute(
        """
        INSERT INTO steps (title_id, name, state, attempts, started_at, finished_at) VALUES (@id, @name, 'done', @attempts, @started, @finished)
        ON CONFLICT (title_id, name) DO UPDATE SET state = 'done', attempts = @attempts, started_at = @started, finished_at = @finished, error = NULL
        """,
        ("@id", titleId),
        ("@name", step),
        ("@attempts", attempts),
        ("@started", startedAt?.ToUnixTimeMilliseconds()),
        ("@finished", finishedAt.ToUnixTimeMilliseconds()));

    /// <summary>After an outage: drops idle pooled connections (broken by a server restart) so the next call opens a fresh one.</summary>
    public void ForgetConnections() => _database.ForgetConnections();

    public void Dispose() => _database.Dispose();

    private void Update(string id, string assignments, object? a, object? b)
    {
        Execute($"UPDATE titles SET {assignments}, updated_at = @now WHERE id = @id", ("@id", id), ("@a", a), ("@b", b), ("@now", Now()));
        Changed?.Invoke(id);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = _database.Open();
        using var command = Command(connection, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private List<TitleRecord> ReadTitles(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = _database.Open();
        using var command = Command(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        var titles = new List<TitleRecord>();
        while (reader.Read())
        {
            titles.Add(ReadTitle(reader));
        }

        return titles;
    }

    private static TitleRecord ReadTitle(DbDataReader r)
    {
        string? S(string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetString(r.GetOrdinal(column));
        return new TitleRecord(
            S("id")!,
            S("upload_id")!,
            S("state")!,
            S("step"),
            r.GetDouble(r.GetOrdinal("percent")),
            S("reason"),
            JsonSerializer.Deserialize<Dictionary<string, string>>(S("metadata")!) ?? [],
            S("source_file"),
            S("source") is { } source ? JsonSerializer.Deserialize<SourceInfo>(source) : null,
            S("renditions") is { } renditions ? JsonSerializer.Deserialize<List<RenditionInfo>>(renditions) ?? [] : [],
            Time(r, r.GetOrdinal("created_at"))!.Value,
            Time(r, r.GetOrdinal("updated_at"))!.Value,
            Time(r, r.GetOrdinal("published_at")),
            Time(r, r.GetOrdinal("next_attempt_at")));
    }

    private static int Int(DbDataReader r, int ordinal) => Convert.ToInt32(r.GetValue(ordinal), CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(DbDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(r.GetValue(ordinal), CultureInfo.InvariantCulture));
}
