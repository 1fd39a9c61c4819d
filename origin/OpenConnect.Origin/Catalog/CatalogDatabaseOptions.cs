using Npgsql;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Catalog;

/// <summary>The engine the catalog (titles, search, accounts, social features, notifications) is stored in.</summary>
public enum CatalogDatabaseProvider
{
    /// <summary><c>{DataDirectory}/catalog.db</c>: one process, nothing to install.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (15 or later, with the <c>pg_trgm</c> extension) shared by every origin instance.</summary>
    PostgreSql,
}

/// <summary>Where the catalog is stored (section <c>Origin:Catalog:Database</c>).</summary>
public sealed class CatalogDatabaseOptions
{
    /// <summary>
    /// <c>Sqlite</c> (the default: <c>catalog.db</c> in the data directory) or <c>PostgreSql</c>
    /// (<see cref="ConnectionString"/> or <see cref="ConnectionStringFile"/> is then required). The schema
    /// is created and migrated at start; on PostgreSQL under an advisory lock, so instances may start together.
    /// </summary>
    public CatalogDatabaseProvider Provider { get; set; } = CatalogDatabaseProvider.Sqlite;

    /// <summary>
    /// The Npgsql connection string of the PostgreSQL database, e.g.
    /// <c>Host=db1;Port=5432;Database=openconnect;Username=origin;Password=…</c>. Never logged. Prefer
    /// <see cref="ConnectionStringFile"/> for a string with a password. Empty by default; only with <c>PostgreSql</c>.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>A file holding <see cref="ConnectionString"/> (read at start, trimmed). Empty by default; set one or the other, not both.</summary>
    public string ConnectionStringFile { get; set; } = "";

    /// <summary>The connection string from <see cref="ConnectionString"/> or <see cref="ConnectionStringFile"/>.</summary>
    public string ResolveConnectionString() =>
        ConnectionStringFile.Length > 0 ? File.ReadAllText(ConnectionStringFile).Trim() : ConnectionString;

    public void Validate(OptionsCheck check)
    {
        const string Key = "Catalog:Database";
        check.Require(Enum.IsDefined(Provider), $"{Key}:Provider", Provider, "must be Sqlite or PostgreSql");
        if (Provider != CatalogDatabaseProvider.PostgreSql)
        {
            check.Require(ConnectionString.Length == 0 && ConnectionStringFile.Length == 0, $"{Key}:ConnectionString", "(hidden)", "is only used with Provider=PostgreSql");
            return;
        }

        check.Require(ConnectionString.Length > 0 != ConnectionStringFile.Length > 0, $"{Key}:ConnectionString", "(hidden)", "set ConnectionString or ConnectionStringFile (exactly one) with Provider=PostgreSql");
        if (ConnectionStringFile.Length > 0 && !File.Exists(ConnectionStringFile))
        {
            check.Require(false, $"{Key}:ConnectionStringFile", ConnectionStringFile, "must name an existing file");
            return;
        }

        if (ConnectionString.Length > 0 || ConnectionStringFile.Length > 0)
        {
            check.Require(Parses(ResolveConnectionString(), out var problem), $"{Key}:ConnectionString", "(hidden)", problem);
        }
    }

    private static bool Parses(string connectionString, out string problem)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            problem = "must name a Host";
            return !string.IsNullOrWhiteSpace(builder.Host);
        }
        catch (ArgumentException ex)
        {
            // The message names the bad keyword, never the value.
            problem = "is not a valid Npgsql connection string: " + ex.Message;
            return false;
        }
    }
}
