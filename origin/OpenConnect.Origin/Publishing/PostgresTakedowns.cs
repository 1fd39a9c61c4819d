using System.Data.Common;
using OpenConnect.Origin.Catalog;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// The takedown list in the shared PostgreSQL catalog (table <c>takedowns</c>), so every origin
/// instance on that catalog holds the same list and reports the same list to steering. Each change
/// commits with a <c>NOTIFY</c> on <see cref="PostgresCatalogRelay.TakedownsChannel"/> (every
/// instance reloads its list) and on the titles channel (every instance drops its cached copy of the
/// title). Rules as in the file: a deleted title stays deleted, only an unpublished one is lifted.
/// </summary>
internal static class PostgresTakedowns
{
    public static Dictionary<string, TakedownEntry> Load(CatalogDatabase database)
    {
        using var connection = database.Open();
        return Load(connection, null);
    }

    /// <summary>
    /// Takes <paramref name="titleId"/> down for <paramref name="reason"/> unless it is already down
    /// for that reason or deleted; returns the entry in force and whether this call changed it.
    /// </summary>
    public static (TakedownEntry Entry, bool Changed) TakeDown(CatalogDatabase database, string titleId, string reason, DateTimeOffset at)
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        // The row lock orders two instances taking the same title down at once; the loser reads the winner's row.
        using (var upsert = connection.Command(
            """
            INSERT INTO takedowns (title_id, reason, at) VALUES (@id, @reason, @at)
            ON CONFLICT (title_id) DO UPDATE SET reason = excluded.reason, at = excluded.at
            WHERE takedowns.reason <> excluded.reason AND takedowns.reason <> @deleted
            RETURNING title_id;
            """, transaction).With("@id", titleId).With("@reason", reason).With("@at", at.ToUnixTimeMilliseconds()).With("@deleted", TitleTakedowns.Deleted))
        {
            if (upsert.ExecuteScalar() is null)
            {
                var existing = Read(connection, transaction, titleId)!;
                transaction.Commit();
                return (existing, false);
            }
        }

        Signal(connection, transaction, titleId);
        transaction.Commit();
        return (new TakedownEntry(titleId, reason, DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds())), true);
    }

    /// <summary>Lifts an unpublished title's takedown; false when it was not taken down.</summary>
    /// <exception cref="InvalidOperationException">The title was deleted.</exception>
    public static bool Lift(CatalogDatabase database, string titleId)
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        using (var delete = connection.Command("DELETE FROM takedowns WHERE title_id = @id AND reason = @unpublished RETURNING title_id;", transaction)
            .With("@id", titleId).With("@unpublished", TitleTakedowns.Unpublished))
        {
            if (delete.ExecuteScalar() is null)
            {
                var existing = Read(connection, transaction, titleId);
                transaction.Commit();
                return existing is null ? false : throw TitleTakedowns.DeletedForGood(titleId);
            }
        }

        Signal(connection, transaction, titleId);
        transaction.Commit();
        return true;
    }

    /// <summary>
    /// Adds the entries of an instance's former <c>takedowns.json</c> that the table lacks (an upgrade
    /// from the file), in one transaction; returns how many were added.
    /// </summary>
    public static int Import(CatalogDatabase database, IEnumerable<TakedownEntry> entries)
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        var added = 0;
        foreach (var entry in entries)
        {
            using var insert = connection.Command(
                """
                INSERT INTO takedowns (title_id, reason, at) VALUES (@id, @reason, @at)
                ON CONFLICT (title_id) DO UPDATE SET reason = excluded.reason
                WHERE excluded.reason = @deleted AND takedowns.reason <> @deleted
                RETURNING title_id;
                """, transaction).With("@id", entry.TitleId).With("@reason", entry.Reason).With("@at", entry.At.ToUnixTimeMilliseconds()).With("@deleted", TitleTakedowns.Deleted);
            if (insert.ExecuteScalar() is not null)
            {
                Signal(connection, transaction, entry.TitleId);
                added++;
            }
        }

        transaction.Commit();
        return added;
    }

    private static void Signal(DbConnection connection, DbTransaction transaction, string titleId)
    {
        PostgresCatalogRelay.TakedownsChanged(connection, transaction, [titleId]);
        PostgresCatalogRelay.TitlesChanged(connection, transaction, [titleId]);
    }

    private static Dictionary<string, TakedownEntry> Load(DbConnection connection, DbTransaction? transaction)
    {
        var entries = new Dictionary<string, TakedownEntry>(StringComparer.Ordinal);
        using var select = connection.Command("SELECT title_id, reason, at FROM takedowns;", transaction);
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            entries[reader.GetString(0)] = new TakedownEntry(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
        }

        return entries;
    }

    private static TakedownEntry? Read(DbConnection connection, DbTransaction transaction, string titleId)
    {
        using var select = connection.Command("SELECT reason, at FROM takedowns WHERE title_id = @id;", transaction).With("@id", titleId);
        using var reader = select.ExecuteReader();
        return reader.Read() ? new TakedownEntry(titleId, reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))) : null;
    }
}
