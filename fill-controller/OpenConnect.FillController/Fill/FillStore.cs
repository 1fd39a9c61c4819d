using System.Globalization;
using System.Text.Json;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.State;

namespace OpenConnect.FillController.Fill;

/// <summary>A manifest as stored: its version, appliance, site, day and Zstd bytes.</summary>
public sealed record StoredManifest(ulong Version, string ApplianceId, string Site, DateOnly Day, byte[] Zstd);

/// <summary>A fill run: a site's window opened for <see cref="Day"/>, appliances may fetch until <see cref="OpenUntil"/>.</summary>
public sealed record FillRun(string Site, DateOnly Day, DateTimeOffset OpenedAt, DateTimeOffset OpenUntil, bool Scheduled);

/// <summary>
/// One planned (appliance, file) pair of a site's current manifests and what the appliance reported for it;
/// <see cref="Held"/>: a further copy of the site held back (not in the manifest sent yet) until a first copy completes.
/// </summary>
public sealed record PlannedFile(string ApplianceId, FileId File, int State, string Reason, bool Held = false);

/// <summary>A file of a manifest as stored: its size, and until when it is held back (null: sent, in the manifest).</summary>
public sealed record ManifestEntry(FileId File, long Bytes, DateTimeOffset? HeldUntil = null);

/// <summary>A copy held back in an appliance's current manifest <see cref="Version"/>.</summary>
public sealed record HeldCopy(string ApplianceId, string Site, ulong Version, FileId File, long Bytes, DateTimeOffset HeldUntil);

/// <summary>
/// The fill controller's durable state: fill runs, each site's latest placement (the planner's
/// <c>previous</c>), every manifest issued, and the progress appliances reported, so a restart loses
/// neither the plan nor what is already filled. In <c>{DataDirectory}/fill.db</c> (SQLite, WAL) or in
/// PostgreSQL (<see cref="StateDatabase"/>); the same SQL on both. Operations are serialised in the
/// process: the write rate is a few reports per appliance per window.
/// </summary>
/// <remarks>
/// Bounded: a new manifest deletes the appliance's superseded ones with their files and progress
/// (nothing reads them: sources and status come from each appliance's newest manifest, and an
/// appliance reporting on an older version is told it is not current), and runs older than
/// <see cref="RunRetention"/> are deleted as new ones are added.
/// </remarks>
public sealed class FillStore
{
    public const int Done = 1;
    public const int Failed = 2;

    /// <summary>The SQLite file, in the data directory.</summary>
    public const string SqliteFile = "fill.db";

    /// <summary>The table of applied schema versions.</summary>
    public const string VersionTable = "fill_schema_migrations";

    /// <summary>The advisory lock key manifest versions are allocated under on PostgreSQL (ASCII "OCFC" and 3).</summary>
    public const long ManifestLockKey = 0x4F43_4643_0000_0003;

    /// <summary>How long a site's fill runs are kept (only the latest is read; the rest is history for operators).</summary>
    public static readonly TimeSpan RunRetention = TimeSpan.FromDays(30);

    /// <summary>Schema versions; version n is element n - 1. Times are Unix milliseconds, days <c>yyyy-MM-dd</c>.</summary>
    public static readonly IReadOnlyList<Migration> Migrations =
    [
        // 1: runs, placements, manifests with their files, progress.
        Migration.FromSqlite("""
            CREATE TABLE runs (site TEXT NOT NULL, day TEXT NOT NULL, opened_at INTEGER NOT NULL, open_until INTEGER NOT NULL, scheduled INTEGER NOT NULL);
            CREATE INDEX runs_site ON runs (site, opened_at);
            CREATE TABLE placements (site TEXT PRIMARY KEY, day TEXT NOT NULL, by_appliance TEXT NOT NULL);
            CREATE TABLE manifests (version INTEGER PRIMARY KEY, appliance_id TEXT NOT NULL, site TEXT NOT NULL, day TEXT NOT NULL, zstd BLOB NOT NULL);
            CREATE INDEX manifests_appliance ON manifests (appliance_id, version);
            CREATE TABLE manifest_files (version INTEGER NOT NULL, title TEXT NOT NULL, rendition TEXT NOT NULL, PRIMARY KEY (version, title, rendition));
            CREATE TABLE progress (version INTEGER NOT NULL, title TEXT NOT NULL, rendition TEXT NOT NULL, state INTEGER NOT NULL, reason TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (version, title, rendition));
            """),

        // 2: staged copies: a file's size and, while it is held back, until when (0: in the manifest).
        Migration.FromSqlite("ALTER TABLE manifest_files ADD COLUMN held_until INTEGER NOT NULL DEFAULT 0; ALTER TABLE manifest_files ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"),
    ];

    private readonly StateDatabase _database;
    private readonly Lock _lock = new();

    public FillStore(StateDatabase database)
    {
        _database = database;
        SchemaVersion = Migrate(database);
    }

    /// <summary>The schema version after migration.</summary>
    public int SchemaVersion { get; }

    /// <summary>
    /// Brings the schema to version <paramref name="upTo"/> (the newest when null). A <c>fill.db</c>
    /// from before versioned migrations counts as version 1, or 2 once it has the staged-copy columns.
    /// </summary>
    public static int Migrate(StateDatabase database, int? upTo = null) =>
        SchemaMigrations.Apply(database, SqliteFile, VersionTable, Migrations, ExistingVersion, upTo);

    public void AddRun(FillRun run)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile, transaction: true);
            db.Execute("INSERT INTO runs VALUES (@site, @day, @opened, @until, @scheduled)",
                ("@site", run.Site), ("@day", Day(run.Day)), ("@opened", run.OpenedAt.ToUnixTimeMilliseconds()), ("@until", run.OpenUntil.ToUnixTimeMilliseconds()), ("@scheduled", run.Scheduled ? 1L : 0L));
            db.Execute("DELETE FROM runs WHERE site = @site AND opened_at < @before", ("@site", run.Site), ("@before", (run.OpenedAt - RunRetention).ToUnixTimeMilliseconds()));
            db.Commit();
        }
    }

    /// <summary>Whether the scheduled window of <paramref name="site"/> for <paramref name="day"/> has been opened already.</summary>
    public bool HasScheduledRun(string site, DateOnly day)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            return db.Scalar("SELECT COUNT(*) FROM runs WHERE site = @site AND day = @day AND scheduled = 1", ("@site", site), ("@day", Day(day))) > 0;
        }
    }

    /// <summary>The run opened last for <paramref name="site"/> at or before <paramref name="now"/>, or null.</summary>
    public FillRun? LatestRun(string site, DateTimeOffset now)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            using var command = db.Command("SELECT day, opened_at, open_until, scheduled FROM runs WHERE site = @site AND opened_at <= @now ORDER BY opened_at DESC LIMIT 1", ("@site", site), ("@now", now.ToUnixTimeMilliseconds()));
            using var reader = command.ExecuteReader();
            return reader.Read()
                ? new FillRun(site, ParseDay(reader.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetInt64(3) == 1)
                : null;
        }
    }

    public void SavePlacement(SitePlacement placement)
    {
        var json = JsonSerializer.Serialize(placement.ByAppliance.ToDictionary(p => p.Key, p => p.Value.Select(f => f.ToString()).ToArray()));
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            db.Execute("INSERT INTO placements VALUES (@site, @day, @json) ON CONFLICT (site) DO UPDATE SET day = excluded.day, by_appliance = excluded.by_appliance",
                ("@site", placement.Site), ("@day", Day(placement.Day)), ("@json", json));
        }
    }

    public SitePlacement? LoadPlacement(string site)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            using var command = db.Command("SELECT day, by_appliance FROM placements WHERE site = @site", ("@site", site));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            var byAppliance = JsonSerializer.Deserialize<Dictionary<string, string[]>>(reader.GetString(1))!
                .ToDictionary(p => p.Key, p => (IReadOnlyList<FileId>)p.Value.Select(ParseFile).ToList(), StringComparer.Ordinal);
            return new SitePlacement(site, ParseDay(reader.GetString(0)), byAppliance);
        }
    }

    /// <summary>
    /// Stores a manifest under the next version number (one sequence for all appliances) and returns
    /// that version; the appliance's superseded manifests go, with their files and progress.
    /// </summary>
    public ulong AddManifest(string applianceId, string site, DateOnly day, IReadOnlyList<FileId> files, Func<ulong, byte[]> encode) =>
        AddManifest(applianceId, site, day, files.Select(f => new ManifestEntry(f, 0)).ToList(), encode);

    /// <summary>
    /// Stores a manifest under the next version number (one sequence for all appliances) and returns
    /// that version; entries with <see cref="ManifestEntry.HeldUntil"/> are planned but held back
    /// (<paramref name="encode"/> leaves them out). The appliance's superseded manifests go, with
    /// their files and progress.
    /// </summary>
    public ulong AddManifest(string applianceId, string site, DateOnly day, IReadOnlyList<ManifestEntry> files, Func<ulong, byte[]> encode)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile, transaction: true);
            var version = Insert(db, applianceId, site, day, files, encode, carryProgressFrom: null);
            db.Commit();
            return version;
        }
    }

    /// <summary>
    /// Reissues the appliance's manifest <paramref name="version"/> under a new version with
    /// <paramref name="released"/> no longer held; the progress already reported carries over.
    /// Null when <paramref name="version"/> is no longer the appliance's newest (a new fill opened).
    /// </summary>
    public ulong? Release(string applianceId, ulong version, IReadOnlySet<FileId> released, Func<ulong, byte[]> encode)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile, transaction: true);
            // Whether the version is still the newest holds until the reissue commits.
            db.LockUntilCommit(ManifestLockKey);
            string site;
            DateOnly day;
            using (var latest = db.Command("SELECT version, site, day FROM manifests WHERE appliance_id = @a ORDER BY version DESC LIMIT 1", ("@a", applianceId)))
            using (var reader = latest.ExecuteReader())
            {
                if (!reader.Read() || (ulong)reader.GetInt64(0) != version)
                {
                    return null;
                }

                site = reader.GetString(1);
                day = ParseDay(reader.GetString(2));
            }

            var files = Entries(db, version).Select(e => released.Contains(e.File) ? e with { HeldUntil = null } : e).ToList();
            var next = Insert(db, applianceId, site, day, files, encode, carryProgressFrom: version);
            db.Commit();
            return next;
        }
    }

    /// <summary>Copies held back in the current manifests of <paramref name="site"/> (every site when null).</summary>
    public IReadOnlyList<HeldCopy> HeldCopies(string? site)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            using var command = db.Command("""
                SELECT m.appliance_id, m.site, m.version, f.title, f.rendition, f.bytes, f.held_until
                FROM manifests m
                JOIN (SELECT appliance_id, MAX(version) AS version FROM manifests GROUP BY appliance_id) latest ON latest.version = m.version
                JOIN manifest_files f ON f.version = m.version
                WHERE f.held_until > 0 AND (@site IS NULL OR m.site = @site)
                ORDER BY m.site, f.title, f.rendition, m.appliance_id
                """, ("@site", site));
            using var reader = command.ExecuteReader();
            var held = new List<HeldCopy>();
            while (reader.Read())
            {
                held.Add(new HeldCopy(reader.GetString(0), reader.GetString(1), (ulong)reader.GetInt64(2), new FileId(reader.GetString(3), reader.GetString(4)), reader.GetInt64(5),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
            }

            return held;
        }
    }

    /// <summary>
    /// The newest manifest of an appliance, or null. Its Zstd bytes are read only when its version
    /// differs from <paramref name="haveVersion"/> (empty otherwise): a poll that changes nothing
    /// reads no blob.
    /// </summary>
    public StoredManifest? LatestManifest(string applianceId, ulong haveVersion = 0)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            using var command = db.Command("SELECT version, site, day, CASE WHEN version = @have THEN NULL ELSE zstd END FROM manifests WHERE appliance_id = @a ORDER BY version DESC LIMIT 1",
                ("@a", applianceId), ("@have", (long)haveVersion));
            using var reader = command.ExecuteReader();
            return reader.Read()
                ? new StoredManifest((ulong)reader.GetInt64(0), applianceId, reader.GetString(1), ParseDay(reader.GetString(2)), reader.IsDBNull(3) ? [] : (byte[])reader[3])
                : null;
        }
    }

    /// <summary>Records what an appliance reported for files of its manifest <paramref name="version"/> (a later report for a file replaces the earlier).</summary>
    public void RecordProgress(ulong version, IEnumerable<(FileId File, int State, string Reason, long Bytes)> files)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile, transaction: true);
            foreach (var (file, state, reason, bytes) in files)
            {
                db.Execute("INSERT INTO progress VALUES (@v, @t, @r, @s, @reason, @b) ON CONFLICT (version, title, rendition) DO UPDATE SET state = excluded.state, reason = excluded.reason, bytes = progress.bytes + excluded.bytes",
                    ("@v", (long)version), ("@t", file.Title), ("@r", file.Rendition), ("@s", (long)state), ("@reason", reason), ("@b", bytes));
            }

            db.Commit();
        }
    }

    /// <summary>
    /// Every file of each appliance's newest manifest (in <paramref name="site"/>, or everywhere when null)
    /// with its reported state (0 when nothing was reported yet).
    /// </summary>
    public IReadOnlyList<PlannedFile> CurrentFiles(string? site)
    {
        lock (_lock)
        {
            using var db = _database.Session(SqliteFile);
            using var command = db.Command("""
                SELECT m.appliance_id, f.title, f.rendition, COALESCE(p.state, 0), COALESCE(p.reason, ''), f.held_until
                FROM manifests m
                JOIN (SELECT appliance_id, MAX(version) AS version FROM manifests GROUP BY appliance_id) latest ON latest.version = m.version
                JOIN manifest_files f ON f.version = m.version
                LEFT JOIN progress p ON p.version = f.version AND p.title = f.title AND p.rendition = f.rendition
                WHERE @site IS NULL OR m.site = @site
                ORDER BY f.title, f.rendition, m.appliance_id
                """, ("@site", site));
            using var reader = command.ExecuteReader();
            var files = new List<PlannedFile>();
            while (reader.Read())
            {
                files.Add(new PlannedFile(reader.GetString(0), new FileId(reader.GetString(1), reader.GetString(2)), (int)reader.GetInt64(3), reader.GetString(4), reader.GetInt64(5) > 0));
            }

            return files;
        }
    }

    /// <summary>The schema version of a SQLite <c>fill.db</c> from before versioned migrations (0: a new database).</summary>
    private static int ExistingVersion(StateSession db)
    {
        if (db.Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'") == 0)
        {
            return 0;
        }

        return db.Scalar("SELECT COUNT(*) FROM pragma_table_info('manifest_files') WHERE name = 'held_until'") > 0 ? 2 : 1;
    }

    /// <summary>The files of stored manifest <paramref name="version"/>.</summary>
    private static List<ManifestEntry> Entries(StateSession db, ulong version)
    {
        using var command = db.Command("SELECT title, rendition, bytes, held_until FROM manifest_files WHERE version = @v ORDER BY title, rendition", ("@v", (long)version));
        using var reader = command.ExecuteReader();
        var entries = new List<ManifestEntry>();
        while (reader.Read())
        {
            var held = reader.GetInt64(3);
            entries.Add(new ManifestEntry(new FileId(reader.GetString(0), reader.GetString(1)), reader.GetInt64(2), held > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(held) : null));
        }

        return entries;
    }

    /// <summary>Inserts a manifest (inside the caller's transaction) and deletes the appliance's superseded ones.</summary>
    private static ulong Insert(StateSession db, string applianceId, string site, DateOnly day, IReadOnlyList<ManifestEntry> files, Func<ulong, byte[]> encode, ulong? carryProgressFrom)
    {
        // Controllers sharing a PostgreSQL database allocate versions one at a time (a planner and a
        // standby releasing held copies could otherwise both take MAX + 1).
        db.LockUntilCommit(ManifestLockKey);
        var version = (ulong)db.Scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM manifests");
        db.Execute("INSERT INTO manifests VALUES (@v, @a, @site, @day, @zstd)", ("@v", (long)version), ("@a", applianceId), ("@site", site), ("@day", Day(day)), ("@zstd", encode(version)));
        foreach (var file in files)
        {
            db.Execute("INSERT INTO manifest_files (version, title, rendition, held_until, bytes) VALUES (@v, @t, @r, @h, @b) ON CONFLICT DO NOTHING",
                ("@v", (long)version), ("@t", file.File.Title), ("@r", file.File.Rendition), ("@h", file.HeldUntil?.ToUnixTimeMilliseconds() ?? 0L), ("@b", file.Bytes));
        }

        if (carryProgressFrom is { } previous)
        {
            db.Execute("INSERT INTO progress SELECT @v, title, rendition, state, reason, bytes FROM progress WHERE version = @old", ("@v", (long)version), ("@old", (long)previous));
        }

        // The global newest version is never deleted (it is this one), so versions are never reused.
        const string Superseded = "SELECT version FROM manifests WHERE appliance_id = @a AND version < @v";
        db.Execute($"DELETE FROM progress WHERE version IN ({Superseded})", ("@a", applianceId), ("@v", (long)version));
        db.Execute($"DELETE FROM manifest_files WHERE version IN ({Superseded})", ("@a", applianceId), ("@v", (long)version));
        db.Execute("DELETE FROM manifests WHERE appliance_id = @a AND version < @v", ("@a", applianceId), ("@v", (long)version));
        return version;
    }

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static DateOnly ParseDay(string day) => DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static FileId ParseFile(string file)
    {
        var slash = file.IndexOf('/', StringComparison.Ordinal);
        return new FileId(file[..slash], file[(slash + 1)..]);
    }
}
