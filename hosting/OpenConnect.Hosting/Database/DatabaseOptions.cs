using Npgsql;

namespace OpenConnect.Hosting.Database;

/// <summary>The engine a role's state is stored in.</summary>
public enum DatabaseProvider
{
    /// <summary>SQLite files in the role's data directory: one process, nothing to install.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (15 or later) that several instances of the role share.</summary>
    PostgreSql,
}

/// <summary>
/// Where a role keeps its state (the catalog, the pipeline's job store, the fill controller's state):
/// SQLite in the data directory, or PostgreSQL through a connection string that is never logged or
/// echoed in an error. One class, so every role reads, checks and reports these settings alike.
/// </summary>
public sealed class DatabaseOptions
{
    /// <summary>
    /// <c>Sqlite</c> (the default: files in the role's data directory) or <c>PostgreSql</c>
    /// (<see cref="ConnectionString"/> or <see cref="ConnectionStringFile"/> is then required). The schema is
    /// created and migrated at start; on PostgreSQL under an advisory lock, so instances may start together.
    /// </summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>
    /// The Npgsql connection string, e.g. <c>Host=db1;Port=5432;Database=openconnect;Username=origin;Password=…</c>.
    /// Only with <c>Provider=PostgreSql</c>; never logged. Prefer <see cref="ConnectionStringFile"/> for a
    /// string with a password. Default empty.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// A file holding the connection string (read at start, trimmed), instead of <see cref="ConnectionString"/>:
    /// keeps the password out of the configuration and the process list. Mode 0600: a start refuses a file
    /// group or others can read. Default empty.
    /// </summary>
    public string ConnectionStringFile { get; set; } = "";

    public bool IsPostgreSql => Provider == DatabaseProvider.PostgreSql;

    /// <summary>Checks the combination, the file's existence and the string's form (never echoing it); <paramref name="key"/> is the section below the role's, e.g. <c>Catalog:Database</c>.</summary>
    public void Validate(OptionsCheck check, string key)
    {
        check.Require(Enum.IsDefined(Provider), $"{key}:Provider", Provider, "must be Sqlite or PostgreSql");
        if (!IsPostgreSql)
        {
            check.Require(ConnectionString.Length == 0 && ConnectionStringFile.Length == 0, $"{key}:ConnectionString", "(hidden)",
                $"is only used with {key}:Provider=PostgreSql; SQLite keeps its files in the data directory");
            return;
        }

        check.Require(ConnectionString.Length > 0 ^ ConnectionStringFile.Length > 0, $"{key}:ConnectionString", "(hidden)",
            $"exactly one of {key}:ConnectionString and {key}:ConnectionStringFile is required with {key}:Provider=PostgreSql");
        if (ConnectionString.Length > 0)
        {
            check.Require(ParseError(ConnectionString) is null, $"{key}:ConnectionString", "(hidden)", $"is not a valid Npgsql connection string: {ParseError(ConnectionString)}");
        }

        if (ConnectionStringFile.Length > 0)
        {
            check.Require(File.Exists(ConnectionStringFile), $"{key}:ConnectionStringFile", ConnectionStringFile, "must name an existing file");
        }
    }

    /// <summary>
    /// The connection string, read from <see cref="ConnectionStringFile"/> when that is set (which must be
    /// readable by its owner only and hold a valid string); <paramref name="key"/> names the setting in the error.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file is readable by others or does not hold a valid connection string.</exception>
    public string ResolveConnectionString(string key)
    {
        if (ConnectionStringFile.Length == 0)
        {
            return ConnectionString;
        }

        PrivateFile.RequireOwnerOnly(ConnectionStringFile);
        var text = File.ReadAllText(ConnectionStringFile).Trim();
        return ParseError(text) is { } error
            ? throw new InvalidOperationException($"{key}:ConnectionStringFile '{ConnectionStringFile}' does not hold a valid Npgsql connection string: {error}")
            : text;
    }

    /// <summary>
    /// Why <paramref name="connectionString"/> is unusable, or null. Never quotes it, nor Npgsql's message,
    /// which names a keyword it does not know: after a <c>;</c> inside a password that is part of the secret.
    /// </summary>
    private static string? ParseError(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) ? "Host is missing" : null;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
        {
            return "it does not parse (a keyword Npgsql does not know, or a malformed key=value pair)";
        }
    }
}
