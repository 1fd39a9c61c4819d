using System.Data;
using System.Data.Common;
using System.Globalization;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.State;

/// <summary>
/// One connection (and, when asked, one transaction) of a store's operation: commands with typed
/// <c>@name</c> parameters, which both engines take. Disposing without <see cref="Commit"/> rolls back.
/// </summary>
public sealed class StateSession : IDisposable
{
    private readonly DbConnection _connection;
    private DbTransaction? _transaction;

    internal StateSession(DbConnection connection, DatabaseProvider provider, bool transaction)
    {
        _connection = connection;
        Provider = provider;
        try
        {
            _transaction = transaction ? connection.BeginTransaction() : null;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public DatabaseProvider Provider { get; }

    /// <summary>
    /// Serialises this transaction with every other holding <paramref name="key"/> on the same
    /// PostgreSQL database (other controllers included) until it ends. SQLite needs nothing: a write
    /// transaction holds the file's write lock from its start.
    /// </summary>
    public void LockUntilCommit(long key)
    {
        if (Provider == DatabaseProvider.PostgreSql)
        {
            Execute("SELECT pg_advisory_xact_lock(@key)", ("@key", key));
        }
    }

    /// <summary>A command in this session's transaction, its parameters typed from their values (null: text).</summary>
    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Parameter(command, name, TypeOf(value)).Value = value ?? DBNull.Value;
        }

        return command;
    }

    /// <summary>Adds a parameter to set per row (a command executed in a loop).</summary>
    public static DbParameter Parameter(DbCommand command, string name, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row as a number (0 when null or no row).</summary>
    public long Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
    }

    public void Commit()
    {
        _transaction?.Commit();
        _transaction?.Dispose();
        _transaction = null;
    }

    public void Dispose()
    {
        _transaction?.Dispose();
        _connection.Dispose();
    }

    private static DbType TypeOf(object? value) => value switch
    {
        long => DbType.Int64,
        int => DbType.Int32,
        byte[] => DbType.Binary,
        _ => DbType.String,
    };
}
