using Npgsql;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// Where the pipeline keeps its job store: titles, their steps and the chunk encode jobs (section
/// <c>Origin:Pipeline:Database</c>). SQLite (default) is one file in the data directory and needs
/// nothing installed; PostgreSQL lets separate worker processes, on this host or others, claim chunk
/// jobs from the same queue.
/// </summary>
public sealed class PipelineDatabaseOptions
{
    public const string Sqlite = "Sqlite";
    public const string PostgreSql = "PostgreSql";

    /// <summary>
    /// <c>Sqlite</c> (default: <c>{DataDirectory}/pipeline.db</c>) or <c>PostgreSql</c> (needs
    /// <see cref="ConnectionString"/> or <see cref="ConnectionStringFile"/>). Worker processes
    /// (<c>Origin:Role=worker</c>) need <c>PostgreSql</c>.
    /// </summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// Npgsql connection string of the PostgreSQL database, e.g.
    /// <c>Host=db.example;Port=5432;Database=openconnect;Username=origin;Password=…</c>. Never logged.
    /// Prefer <see cref="ConnectionStringFile"/> for a string that holds a password. Default: empty.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// File holding the connection string (its first line), read at start: keeps the password out of
    /// the configuration and the process list. Used when <see cref="ConnectionString"/> is empty. Default: empty.
    /// </summary>
    public string ConnectionStringFile { get; set; } = "";

    public bool IsPostgreSql => string.Equals(Provider.Trim(), PostgreSql, StringComparison.OrdinalIgnoreCase);

    /// <summary>The connection string in force: <see cref="ConnectionString"/>, else the first line of <see cref="ConnectionStringFile"/>.</summary>
    public string EffectiveConnectionString() =>
        ConnectionString.Length > 0 ? ConnectionString
        : ConnectionStringFile.Length > 0 ? File.ReadLines(ConnectionStringFile).FirstOrDefault()?.Trim() ?? ""
        : "";

    public void Validate(OptionsCheck check)
    {
        const string key = "Pipeline:Database";
        var provider = Provider.Trim();
        check.Require(
            string.Equals(provider, Sqlite, StringComparison.OrdinalIgnoreCase) || IsPostgreSql,
            $"{key}:Provider",
            Provider,
            "must be Sqlite or PostgreSql");
        if (!IsPostgreSql)
        {
            return;
        }

        if (ConnectionString.Length == 0 && ConnectionStringFile.Length > 0 && !File.Exists(ConnectionStringFile))
        {
            check.Require(false, $"{key}:ConnectionStringFile", ConnectionStringFile, "must name a readable file holding the connection string");
            return;
        }

        string connectionString;
        try
        {
            connectionString = EffectiveConnectionString();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            check.Require(false, $"{key}:ConnectionStringFile", ConnectionStringFile, $"cannot be read: {ex.Message}");
            return;
        }

        if (connectionString.Length == 0)
        {
            check.Require(false, $"{key}:ConnectionString", "", "PostgreSql needs ConnectionString or ConnectionStringFile");
            return;
        }

        // The value is never echoed: it may hold a password.
        var parsed = TryParse(connectionString, out var error);
        check.Require(parsed is not null, $"{key}:ConnectionString", "(hidden)", $"is not a valid Npgsql connection string: {error}");
        if (parsed is not null)
        {
            check.Require(!string.IsNullOrWhiteSpace(parsed.Host), $"{key}:ConnectionString", "(hidden)", "must name a Host");
        }
    }

    private static NpgsqlConnectionStringBuilder? TryParse(string connectionString, out string? error)
    {
        try
        {
            error = null;
            return new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
        {
            error = ex.Message;
            return null;
        }
    }
}
