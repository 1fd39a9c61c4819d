using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;

namespace OpenConnect.Origin.Catalog;

/// <summary>
/// The few SQL fragments in which SQLite and PostgreSQL differ outside search (which has its own
/// <see cref="Search.SearchIndex"/>). Everything else the stores run is written once.
/// </summary>
public sealed class CatalogDialect
{
    public static readonly CatalogDialect Sqlite = new(
        titleColumns:
            "t.seq, t.duration, json_array(t.id, t.uploader_id, t.channel_id, t.title, t.description, json(t.tags), t.status, t.failure_reason, " +
            "json(t.renditions), t.hls_url, t.dash_url, t.poster_url, t.storyboard_url, t.created_at, t.published_at, t.updated_at, t.views, t.likes, t.dislikes)",
        userNameIs: "name = @n", // users.name is COLLATE NOCASE, with its unique index
        nameLock: null); // one process, whose writes CatalogDatabase already serializes

    public static readonly CatalogDialect PostgreSql = new(
        titleColumns:
            "t.seq, t.duration, json_build_array(t.id, t.uploader_id, t.channel_id, t.title, t.description, t.tags::json, t.status, t.failure_reason, " +
            "t.renditions::json, t.hls_url, t.dash_url, t.poster_url, t.storyboard_url, t.created_at, t.published_at, t.updated_at, t.views, t.likes, t.dislikes)",
        userNameIs: "lower(name) = lower(@n)", // the unique index is on lower(name)
        nameLock: "SELECT pg_advisory_xact_lock(20291, hashtext(lower(@n)));"); // 20291 = "OC": the two-key space is the catalog's

    private CatalogDialect(string titleColumns, string userNameIs, string? nameLock)
    {
        TitleColumns = titleColumns;
        UserNameIs = userNameIs;
        NameLock = nameLock;
    }

    /// <summary>
    /// A title row as <see cref="Titles.PublishedTitles.Read"/> takes it: the sequence number, the
    /// duration (a float, kept out of JSON so it round-trips exactly) and every other field packed by
    /// the database into one JSON array, so a row crosses into .NET as three values instead of
    /// twenty-one (search reads up to 21 rows per request, and each column read is a native call).
    /// </summary>
    public string TitleColumns { get; }

    /// <summary>The case-insensitive match of <c>users.name</c> against the parameter <c>@n</c>.</summary>
    public string UserNameIs { get; }

    /// <summary>
    /// Holds the user name <c>@n</c> until the transaction ends, so two origin instances registering
    /// (or provisioning) one name at once take turns and the second sees the first's row; null when
    /// the engine needs none.
    /// </summary>
    public string? NameLock { get; }

    /// <summary>The JSON array of a row selected with <see cref="TitleColumns"/>, as UTF-8.</summary>
    internal static byte[] RowJson(DbDataReader reader, int ordinal) =>
        reader is SqliteDataReader sqlite ? sqlite.GetFieldValue<byte[]>(ordinal) : Encoding.UTF8.GetBytes(reader.GetString(ordinal));
}
