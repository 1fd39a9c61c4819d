using System.Data;
using System.Globalization;
using OpenConnect.FillController.State;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.History;

/// <summary>Plays of a title in a site on one UTC day, as one steering instance counted them.</summary>
public sealed record PlayCount(string Site, string Title, DateOnly Day, long Plays);

/// <summary>Requests an appliance of a site served for one rendition of a title on one UTC day.</summary>
public sealed record RenditionCount(string Site, string Title, string Rendition, DateOnly Day, long Requests);

/// <summary>The origin's cumulative view counter of a title, and when it was published.</summary>
public sealed record ViewCount(string Title, long Views, DateTimeOffset? PublishedAt);

/// <summary>
/// Play history in SQLite (<c>{DataDirectory}/popularity.db</c>, WAL) or PostgreSQL
/// (<see cref="StateDatabase"/>, the same SQL): steering's per-day play
/// counts, daily snapshots of the origin's view counters, title publication times, rendition
/// sizes, and the appliances' request counts per (title, rendition). Every collected figure is an
/// upsert of an absolute value, so collecting the same figures again never double-counts; the
/// appliances' request counts are deltas and are added.
/// </summary>
public sealed class PopularityStore
{
    private const string DayFormat = "yyyy-MM-dd";

    /// <summary>The SQLite file, in the data directory.</summary>
    public const string SqliteFile = "popularity.db";

    /// <summary>Schema versions; version n is element n - 1.</summary>
    public static readonly IReadOnlyList<Migration> Migrations =
    [
        // 1: plays per steering instance (a restarted steering counts from zero under a new id),
        // view counter snapshots, titles, rendition sizes from integrity manifests.
        Migration.FromSqlite("""
        CREATE TABLE plays (
            instance TEXT NOT NULL,
            site TEXT NOT NULL,
            title TEXT NOT NULL,
            day TEXT NOT NULL,
            plays INTEGER NOT NULL,
            PRIMARY KEY (instance, site, title, day)
        ) WITHOUT ROWID;
        CREATE INDEX plays_day ON plays(day, site);
        CREATE TABLE views (
            title TEXT NOT NULL,
            day TEXT NOT NULL,
            total INTEGER NOT NULL,
            PRIMARY KEY (title, day)
        ) WITHOUT ROWID;
        CREATE TABLE titles (
            title TEXT PRIMARY KEY,
            published_at TEXT
        ) WITHOUT ROWID;
        CREATE TABLE renditions (
            title TEXT NOT NULL,
            rendition TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            PRIMARY KEY (title, rendition)
        ) WITHOUT ROWID;
        CREATE TABLE sized_titles (
            title TEXT PRIMARY KEY,
            fetched_at TEXT NOT NULL
        ) WITHOUT ROWID;
        """),

        // 2: requests per (title, rendition) the appliances report with their fill progress, summed
        // per (site, day): each report is a delta since the appliance's previous one.
        Migration.FromSqlite("""
        CREATE TABLE rendition_requests (
            site TEXT NOT NULL,
            title TEXT NOT NULL,
            rendition TEXT NOT NULL,
            day TEXT NOT NULL,
            requests INTEGER NOT NULL,
            PRIMARY KEY (site, day, title, rendition)
        ) WITHOUT ROWID;
        """),
    ];

    private readonly StateDatabase _database;
    private readonly Lock _writeLock = new();

    public PopularityStore(StateDatabase database)
    {
        _database = database;
        SchemaVersion = Migrate(database);
    }

    /// <summary>The schema version after migration.</summary>
    public int SchemaVersion { get; }

    /// <summary>
    /// Brings the schema to version <paramref name="upTo"/> (the newest when null). The version table
    /// keeps its SQLite name in <c>popularity.db</c>; in PostgreSQL, beside the fill store's, it is named for the store.
    /// </summary>
    public static int Migrate(StateDatabase database, int? upTo = null) =>
        SchemaMigrations.Apply(database, SqliteFile, database.Provider == DatabaseProvider.Sqlite ? "schema_migrations" : "popularity_schema_migrations", Migrations, upTo: upTo);

    /// <summary>Stores what steering instance <paramref name="instance"/> counted (replacing its earlier figures for the same keys).</summary>
    public void UpsertPlays(string instance, IEnumerable<PlayCount> plays)
    {
        Write(db =>
        {
            using var command = db.Command("INSERT INTO plays(instance, site, title, day, plays) VALUES (@i, @s, @t, @d, @p) ON CONFLICT (instance, site, title, day) DO UPDATE SET plays = excluded.plays;", ("@i", instance));
            var s = StateSession.Parameter(command, "@s", DbType.String);
            var t = StateSession.Parameter(command, "@t", DbType.String);
            var d = StateSession.Parameter(command, "@d", DbType.String);
            var p = StateSession.Parameter(command, "@p", DbType.Int64);
            foreach (var play in plays)
            {
                s.Value = play.Site;
                t.Value = play.Title;
                d.Value = Day(play.Day);
                p.Value = play.Plays;
                command.ExecuteNonQuery();
            }
        });
    }

    /// <summary>Records the origin's view counters as seen on <paramref name="day"/> (the last snapshot of a day wins) and publication times.</summary>
    public void UpsertViews(DateOnly day, IEnumerable<ViewCount> views)
    {
        Write(db =>
        {
            using var snapshot = db.Command("""
                INSERT INTO views(title, day, total) VALUES (@t, @d, @v)
                ON CONFLICT (title, day) DO UPDATE SET total = CASE WHEN excluded.total > views.total THEN excluded.total ELSE views.total END;
                """, ("@d", Day(day)));
            var t = StateSession.Parameter(snapshot, "@t", DbType.String);
            var v = StateSession.Parameter(snapshot, "@v", DbType.Int64);
            using var title = db.Command("INSERT INTO titles(title, published_at) VALUES (@t, @p) ON CONFLICT (title) DO UPDATE SET published_at = excluded.published_at;");
            var tt = StateSession.Parameter(title, "@t", DbType.String);
            var p = StateSession.Parameter(title, "@p", DbType.String);
            foreach (var view in views)
            {
                t.Value = view.Title;
                v.Value = view.Views;
                snapshot.ExecuteNonQuery();
                tt.Value = view.Title;
                p.Value = view.PublishedAt is { } at ? at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : DBNull.Value;
                title.ExecuteNonQuery();
            }
        });
    }

    /// <summary>Adds requests an appliance of <paramref name="site"/> reported (a delta since its previous report) to <paramref name="day"/>'s counts.</summary>
    public void AddRenditionRequests(string site, DateOnly day, IEnumerable<(string Title, string Rendition, long Requests)> counts)
    {
        Write(db =>
        {
            using var command = db.Command("""
                INSERT INTO rendition_requests(site, title, rendition, day, requests) VALUES (@s, @t, @r, @d, @n)
                ON CONFLICT (site, day, title, rendition) DO UPDATE SET requests = rendition_requests.requests + excluded.requests;
                """, ("@s", site), ("@d", Day(day)));
            var t = StateSession.Parameter(command, "@t", DbType.String);
            var r = StateSession.Parameter(command, "@r", DbType.String);
            var n = StateSession.Parameter(command, "@n", DbType.Int64);
            foreach (var (title, rendition, requests) in counts)
            {
                t.Value = title;
                r.Value = rendition;
                n.Value = requests;
                command.ExecuteNonQuery();
            }
        });
    }

    /// <summary>Requests per (site, title, rendition, day) the appliances reported, for days in [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public IReadOnlyList<RenditionCount> RenditionRequests(DateOnly from, DateOnly to)
    {
        using var db = _database.Session(SqliteFile);
        using var command = db.Command("SELECT site, title, rendition, day, requests FROM rendition_requests WHERE day >= @f AND day <= @t;", ("@f", Day(from)), ("@t", Day(to)));
        using var reader = command.ExecuteReader();
        var result = new List<RenditionCount>();
        while (reader.Read())
        {
            result.Add(new RenditionCount(reader.GetString(0), reader.GetString(1), reader.GetString(2), ParseDay(reader.GetString(3)), reader.GetInt64(4)));
        }

        return result;
    }

    /// <summary>Plays per (site, title, day) summed over steering instances, for days in [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public IReadOnlyList<PlayCount> Plays(DateOnly from, DateOnly to)
    {
        using var db = _database.Session(SqliteFile);
        // PostgreSQL sums bigints to numeric: cast back.
        using var command = db.Command("SELECT site, title, day, CAST(sum(plays) AS BIGINT) FROM plays WHERE day >= @from AND day <= @to GROUP BY site, title, day ORDER BY site, title, day;",
            ("@from", Day(from)), ("@to", Day(to)));
        using var reader = command.ExecuteReader();
        var result = new List<PlayCount>();
        while (reader.Read())
        {
            result.Add(new PlayCount(reader.GetString(0), reader.GetString(1), ParseDay(reader.GetString(2)), reader.GetInt64(3)));
        }

        return result;
    }

    /// <summary>
    /// Views per title per day in [<paramref name="from"/>, <paramref name="to"/>]: the growth of the
    /// counter between a day's last snapshot and the previous snapshot (a title's first snapshot
    /// counts nothing: its earlier views have no day).
    /// </summary>
    public IReadOnlyList<(string Title, DateOnly Day, long Views)> DailyViews(DateOnly from, DateOnly to)
    {
        using var db = _database.Session(SqliteFile);
        using var command = db.Command("""
            SELECT title, day, total - lag(total) OVER (PARTITION BY title ORDER BY day) FROM views
            WHERE day <= @to ORDER BY title, day;
            """, ("@to", Day(to)));
        using var reader = command.ExecuteReader();
        var result = new List<(string, DateOnly, long)>();
        while (reader.Read())
        {
            var day = ParseDay(reader.GetString(1));
            if (day >= from && !reader.IsDBNull(2))
            {
                result.Add((reader.GetString(0), day, Math.Max(0, reader.GetInt64(2))));
            }
        }

        return result;
    }

    /// <summary>Publication time of every title the origin listed.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset?> Titles()
    {
        using var db = _database.Session(SqliteFile);
        using var command = db.Command("SELECT title, published_at FROM titles;");
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        while (reader.Read())
        {
            result[reader.GetString(0)] = reader.IsDBNull(1) ? null : DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        }

        return result;
    }

    /// <summary>Rendition sizes of a title, or null when its integrity manifest was not read since <paramref name="notBefore"/>.</summary>
    public IReadOnlyDictionary<string, long>? RenditionBytes(string title, DateTimeOffset notBefore)
    {
        using var db = _database.Session(SqliteFile);
        if (db.Scalar("SELECT COUNT(*) FROM sized_titles WHERE title = @t AND fetched_at >= @n;", ("@t", title), ("@n", notBefore.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))) == 0)
        {
            return null;
        }

        using var command = db.Command("SELECT rendition, bytes FROM renditions WHERE title = @t ORDER BY rendition;", ("@t", title));
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }

    /// <summary>Replaces the rendition sizes of a title (from its integrity manifest).</summary>
    public void SaveRenditionBytes(string title, IReadOnlyDictionary<string, long> renditions, DateTimeOffset fetchedAt)
    {
        Write(db =>
        {
            db.Execute("DELETE FROM renditions WHERE title = @t;", ("@t", title));
            foreach (var (rendition, bytes) in renditions)
            {
                db.Execute("INSERT INTO renditions(title, rendition, bytes) VALUES (@t, @r, @b);", ("@t", title), ("@r", rendition), ("@b", bytes));
            }

            db.Execute("INSERT INTO sized_titles(title, fetched_at) VALUES (@t, @f) ON CONFLICT (title) DO UPDATE SET fetched_at = excluded.fetched_at;",
                ("@t", title), ("@f", fetchedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
        });
    }

    /// <summary>Deletes plays and view snapshots older than <paramref name="before"/> (the last snapshot before it is kept as a baseline).</summary>
    public void Prune(DateOnly before)
    {
        Write(db =>
        {
            db.Execute("DELETE FROM plays WHERE day < @d;", ("@d", Day(before)));
            db.Execute("DELETE FROM rendition_requests WHERE day < @d;", ("@d", Day(before)));
            db.Execute("DELETE FROM views WHERE day < (SELECT max(v.day) FROM views v WHERE v.title = views.title AND v.day < @d);", ("@d", Day(before)));
        });
    }

    public static string Day(DateOnly day) => day.ToString(DayFormat, CultureInfo.InvariantCulture);

    public static DateOnly ParseDay(string text) => DateOnly.ParseExact(text, DayFormat, CultureInfo.InvariantCulture);

    /// <summary>Runs <paramref name="work"/> in one transaction, one writer at a time, committed when it returns.</summary>
    private void Write(Action<StateSession> work)
    {
        lock (_writeLock)
        {
            using var db = _database.Session(SqliteFile, transaction: true);
            work(db);
            db.Commit();
        }
    }
}
