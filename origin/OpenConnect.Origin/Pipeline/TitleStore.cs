using System.Text.Json;
using Microsoft.Data.Sqlite;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Title states as stored and reported.</summary>
public static class TitleStates
{
    public const string Queued = "queued";
    public const string Processing = "processing";
    public const string Published = "published";
    public const string Failed = "failed";
    public const string Rejected = "rejected";

    public static readonly IReadOnlyList<string> All = [Queued, Processing, Published, Failed, Rejected];
}

/// <summary>What the probe learnt about a source.</summary>
public sealed record SourceInfo(
    string Container,
    double DurationSeconds,
    int Width,
    int Height,
    string VideoCodec,
    double FrameRate,
    string? AudioCodec);

/// <summary>A produced rendition as listed by the titles API.</summary>
public sealed record RenditionInfo(string Name, string Codec, int Width, int Height, int BitrateKbps, string Codecs, long PeakBandwidth, long AverageBandwidth, int Segments);

/// <summary>One title's row.</summary>
public sealed record TitleRecord(
    string Id,
    string UploadId,
    string State,
    string? Step,
    double Percent,
    string? Reason,
    IReadOnlyDictionary<string, string> Metadata,
    string? SourceFile,
    SourceInfo? Source,
    IReadOnlyList<RenditionInfo> Renditions,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? PublishedAt,
    DateTimeOffset? NextAttemptAt)
{
    /// <summary>The upload's metadata key that marks a title protected (value <c>true</c>).</summary>
    public const string ProtectedKey = "protected";

    /// <summary>Packaged as CENC-encrypted CMAF with the title's key (see <c>Pipeline/Cenc</c>).</summary>
    public bool IsProtected => Metadata.GetValueOrDefault(ProtectedKey) == "true";
}

/// <summary>One step's row: how often it was started, when it last started and finished.</summary>
public sealed record StepRecord(string Name, string State, int Attempts, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);

/// <summary>
/// The pipeline's durable state in SQLite (<c>{DataDirectory}/pipeline.db</c>, WAL,
/// <c>synchronous=FULL</c>): titles and the steps done for each. A step is recorded done only after
/// its outputs are renamed into place, so a restart redoes at most the step that was running.
/// The schema is versioned with <c>PRAGMA user_version</c> and migrated forward on open.
/// </summary>
public sealed class TitleStore
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE titles (
            id TEXT PRIMARY KEY,
            upload_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            step TEXT,
            percent REAL NOT NULL DEFAULT 0,
            reason TEXT,
            metadata TEXT NOT NULL,
            upload_path TEXT NOT NULL,
            source_file TEXT,
            source TEXT,
            renditions TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            published_at INTEGER,
            next_attempt_at INTEGER
        );
        CREATE INDEX titles_state ON titles(state, created_at);
        CREATE INDEX titles_created ON titles(created_at);
        CREATE TABLE steps (
            title_id TEXT NOT NULL REFERENCES titles(id),
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            started_at INTEGER,
            finished_at INTEGER,
            error TEXT,
            PRIMARY KEY (title_id, name)
        );
        """,
        // An uploader's titles (their list, their quotas) without scanning every title.
        """
        CREATE INDEX titles_uploader ON titles(IFNULL(json_extract(metadata, '$.uploader_id'), ''), created_at);
        """,
    ];

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    public TitleStore(string databasePath, TimeProvider time)
    {
        _time = time;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();
        using var connection = Open();
        SqliteSchema.Execute(connection, "PRAGMA journal_mode=WAL;");
        SqliteSchema.Migrate(connection, Migrations, "pipeline.db");
    }

    public static int SchemaVersion => Migrations.Length;

    /// <summary>Raised with the title id after a title row is inserted or changed (state, progress, renditions, …).</summary>
    public event Action<string>? Changed;

    public TitleRecord? Get(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM titles WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadTitle(reader) : null;
    }

    public TitleRecord? GetByUpload(string uploadId)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM titles WHERE upload_id = $u";
        command.Parameters.AddWithValue("$u", uploadId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadTitle(reader) : null;
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<TitleRecord> List(int limit)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM titles ORDER BY created_at DESC, rowid DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", limit);
        return ReadTitles(command);
    }

    /// <summary>
    /// The titles of <paramref name="uploaderId"/> (by the <c>uploader_id</c> metadata; "" is the
    /// titles uploaded without one), and those without one too when <paramref name="withAnonymous"/>,
    /// newest first.
    /// </summary>
    public IReadOnlyList<TitleRecord> ListByUploader(string uploaderId, bool withAnonymous, int limit)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT * FROM titles WHERE IFNULL(json_extract(metadata, '$.uploader_id'), '') IN ($u, $anonymous)
            ORDER BY created_at DESC, rowid DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$u", uploaderId);
        command.Parameters.AddWithValue("$anonymous", withAnonymous ? "" : uploaderId);
        command.Parameters.AddWithValue("$limit", limit);
        return ReadTitles(command);
    }

    /// <summary>Titles queued or processing, oldest first: the work to resume.</summary>
    public IReadOnlyList<TitleRecord> Unfinished()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM titles WHERE state IN ('queued', 'processing') ORDER BY created_at, rowid";
        return ReadTitles(command);
    }

    /// <summary>
    /// One uploader's titles (by the <c>uploader_id</c> metadata; titles without one are the
    /// uploader "") in the backlog now and recorded since <paramref name="since"/>, with the
    /// duration of the accepted sources among the latter. Both scans use an index (state, created_at).
    /// </summary>
    public UploaderUsage UsageOf(string uploaderId, DateTimeOffset since)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT
                (SELECT COUNT(*) FROM titles WHERE state IN ('queued', 'processing') AND IFNULL(json_extract(metadata, '$.uploader_id'), '') = $u),
                COUNT(*),
                MIN(created_at),
                IFNULL(SUM(CASE WHEN state <> 'rejected' THEN json_extract(source, '$.DurationSeconds') END), 0)
            FROM titles
            WHERE created_at >= $since AND IFNULL(json_extract(metadata, '$.uploader_id'), '') = $u
            """;
        command.Parameters.AddWithValue("$u", uploaderId);
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        using var reader = command.ExecuteReader();
        reader.Read();
        return new UploaderUsage(
            reader.GetInt32(0),
            reader.GetInt32(1),
            Time(reader, 2),
            TimeSpan.FromSeconds(reader.GetDouble(3)));
    }

    /// <summary><see cref="UsageOf"/> over the last <paramref name="window"/> on the store's clock.</summary>
    public UploaderUsage UsageWithin(string uploaderId, TimeSpan window) => UsageOf(uploaderId, _time.GetUtcNow() - window);

    public Dictionary<string, int> CountByState()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, COUNT(*) FROM titles GROUP BY state";
        using var reader = command.ExecuteReader();
        var counts = TitleStates.All.ToDictionary(s => s, _ => 0);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    public void Insert(string id, string uploadId, string state, string? reason, IReadOnlyDictionary<string, string> metadata, string uploadPath, string? sourceFile, SourceInfo? source)
    {
        var now = Now();
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO titles (id, upload_id, state, reason, metadata, upload_path, source_file, source, created_at, updated_at)
            VALUES ($id, $u, $state, $reason, $meta, $up, $sf, $src, $now, $now)
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$u", uploadId);
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
        command.Parameters.AddWithValue("$meta", JsonSerializer.Serialize(metadata));
        command.Parameters.AddWithValue("$up", uploadPath);
        command.Parameters.AddWithValue("$sf", (object?)sourceFile ?? DBNull.Value);
        command.Parameters.AddWithValue("$src", source is null ? DBNull.Value : JsonSerializer.Serialize(source));
        command.Parameters.AddWithValue("$now", now);
        command.ExecuteNonQuery();
        Changed?.Invoke(id);
    }

    public string UploadPath(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT upload_path FROM titles WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (string)command.ExecuteScalar()!;
    }

    public void SetState(string id, string state, string? reason = null, bool published = false)
    {
        Update(id, "state = $a, reason = $b, next_attempt_at = NULL" + (published ? ", published_at = $now, percent = 100, step = NULL" : ""), state, reason);
    }

    public void SetProgress(string id, string step, double percent) => Update(id, "step = $a, percent = $b", step, Math.Round(percent, 1));

    public void SetSource(string id, SourceInfo source) => Update(id, "source = $a", JsonSerializer.Serialize(source), null);

    public void SetRenditions(string id, IReadOnlyList<RenditionInfo> renditions) => Update(id, "renditions = $a", JsonSerializer.Serialize(renditions), null);

    public void SetNextAttempt(string id, DateTimeOffset? at) => Update(id, "next_attempt_at = $a", at?.ToUnixTimeMilliseconds(), null);

    public IReadOnlyList<StepRecord> Steps(string id)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, state, attempts, started_at, finished_at, error FROM steps WHERE title_id = $id ORDER BY COALESCE(started_at, 0), rowid";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        var steps = new List<StepRecord>();
        while (reader.Read())
        {
            steps.Add(new StepRecord(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), Time(reader, 3), Time(reader, 4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return steps;
    }

    public void StepStarted(string titleId, string step)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO steps (title_id, name, state, attempts, started_at) VALUES ($id, $name, 'running', 1, $now)
            ON CONFLICT (title_id, name) DO UPDATE SET state = 'running', attempts = attempts + 1, started_at = $now, error = NULL
            """;
        command.Parameters.AddWithValue("$id", titleId);
        command.Parameters.AddWithValue("$name", step);
        command.Parameters.AddWithValue("$now", Now());
        command.ExecuteNonQuery();
    }

    public void StepFinished(string titleId, string step, string? error)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE steps SET state = $state, finished_at = $now, error = $error WHERE title_id = $id AND name = $name";
        command.Parameters.AddWithValue("$id", titleId);
        command.Parameters.AddWithValue("$name", step);
        command.Parameters.AddWithValue("$state", error is null ? "done" : "failed");
        command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Now());
        command.ExecuteNonQuery();
    }

    private void Update(string id, string assignments, object? a, object? b)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE titles SET {assignments}, updated_at = $now WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$a", a ?? DBNull.Value);
        command.Parameters.AddWithValue("$b", b ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Now());
        command.ExecuteNonQuery();
        Changed?.Invoke(id);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        SqliteSchema.Execute(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
        return connection;
    }



    private static List<TitleRecord> ReadTitles(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var titles = new List<TitleRecord>();
        while (reader.Read())
        {
            titles.Add(ReadTitle(reader));
        }

        return titles;
    }

    private static TitleRecord ReadTitle(SqliteDataReader r)
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

    private static DateTimeOffset? Time(SqliteDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(ordinal));
}
