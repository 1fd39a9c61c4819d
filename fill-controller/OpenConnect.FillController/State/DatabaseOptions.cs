using Npgsql;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.State;

/// <summary>Where the fill controller keeps its state.</summary>
public enum DatabaseProvider
{
    /// <summary>SQLite files in <c>DataDirectory</c> (<c>fill.db</c>, <c>popularity.db</c>): nothing to install.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (tables in the schema <c>fill_controller</c>).</summary>
    PostgreSql,
}

/// <summary>
/// The fill controller's state store (section <c>FillController:Database</c>): play history, fill runs,
/// placements, manifests and the progress appliances report. SQLite by default; PostgreSQL so that the
/// state outlives the host and a standby controller can take over.
/// </summary>
public sealed class DatabaseOptions
{
    /// <summary>
    /// <c>Sqlite</c> (default: <c>{DataDirectory}/fill.db</c> and <c>popularity.db</c>) or <c>PostgreSql</c>
    /// (<see cref="ConnectionString"/> or <see cref="ConnectionStringFile"/> required). With PostgreSQL the
    /// tables live in the schema <c>fill_controller</c>, which the fill controller creates at start (the
    /// user needs the CREATE privilege on the database, or the schema created for it beforehand).
    /// </summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>
    /// Npgsql connection string, e.g. <c>Host=10.0.0.5;Port=5432;Database=openconnect;Username=fill;Password=…</c>.
    /// Only with <c>Provider=PostgreSql</c>; never logged. Prefer <see cref="ConnectionStringFile"/> for a
    /// password. Default empty.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// A file holding the connection string (mode 0600: a start refuses a file group or others can read),
    /// instead of <see cref="ConnectionString"/>. Default empty.
    /// </summary>
    public string ConnectionStringFile { get; set; } = "";

    public void Validate(OptionsCheck check)
    {
        if (Provider == DatabaseProvider.Sqlite)
        {
            check.Require(ConnectionString.Length == 0 && ConnectionStringFile.Length == 0, "Database:ConnectionString", "(not shown)",
                "is only used with Database:Provider=PostgreSql; SQLite keeps its files in DataDirectory");
            return;
        }

        check.Require(ConnectionString.Length > 0 ^ ConnectionStringFile.Length > 0, "Database:ConnectionString", "(not shown)",
            "exactly one of Database:ConnectionString and Database:ConnectionStringFile is required with Database:Provider=PostgreSql");
        if (ConnectionString.Length > 0)
        {
            check.Require(ParseError(ConnectionString) is null, "Database:ConnectionString", "(not shown)", $"is not an Npgsql connection string with a Host: {ParseError(ConnectionString)}");
        }

        if (ConnectionStringFile.Length > 0)
        {
            check.Require(File.Exists(ConnectionStringFile), "Database:ConnectionStringFile", ConnectionStringFile, "must name an existing file");
        }
    }

    /// <summary>The connection string, read from <see cref="ConnectionStringFile"/> when that is set; throws naming the setting when unusable.</summary>
    public string ResolveConnectionString()
    {
        if (ConnectionStringFile.Length == 0)
        {
            return ConnectionString;
        }

        PrivateFile.RequireOwnerOnly(ConnectionStringFile);
        var text = File.ReadAllText(ConnectionStringFile).Trim();
        if (ParseError(text) is { } error)
        {
            throw new InvalidOperationException($"{FillControllerOptions.SectionName}:Database:ConnectionStringFile '{ConnectionStringFile}' does not hold an Npgsql connection string with a Host: {error}");
        }

        return text;
    }

    /// <summary>Why <paramref name="connectionString"/> is unusable (without repeating it: it may hold a password), or null.</summary>
    private static string? ParseError(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) ? "Host is missing" : null;
        }
        catch (ArgumentException ex)
        {
            // The message names the keyword, not its value.
            return ex.Message;
        }
    }
}
