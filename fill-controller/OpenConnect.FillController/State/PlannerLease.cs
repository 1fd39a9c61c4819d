using System.Data.Common;
using OpenConnect.Hosting.Database;
using Prometheus;

namespace OpenConnect.FillController.State;

/// <summary>
/// Which fill controller plans. Controllers sharing one PostgreSQL database all serve appliances
/// (manifests, progress) and collect history, but only the one holding a session-level advisory lock
/// (<see cref="LockKey"/>) on a connection of its own opens windows, answers an operator's "fill now"
/// and releases overdue held copies. The lock goes with its connection: when the planner stops, dies
/// or loses the database, a standby takes it at its next check (<c>Fill:CheckInterval</c>). With SQLite
/// the state is one process's files, and that process plans.
/// </summary>
/// <remarks>
/// A planner whose connection the server has ended learns it at its next check; until then two may
/// plan. Manifest versions stay unique regardless (the fill store allocates them under a
/// transaction lock), and a release against a superseded manifest does nothing.
/// </remarks>
public sealed partial class PlannerLease : IDisposable
{
    /// <summary>The advisory lock key of the planner (ASCII "OCFC" and 2).</summary>
    public const long LockKey = 0x4F43_4643_0000_0002;

    private readonly StateDatabase _database;
    private readonly ILogger<PlannerLease> _logger;
    private readonly Gauge _planner;
    private readonly Lock _lock = new();
    private DbConnection? _held;

    public PlannerLease(StateDatabase database, ILogger<PlannerLease> logger, IMetricFactory metrics)
    {
        _database = database;
        _logger = logger;
        _planner = metrics.CreateGauge("openconnect_fill_planner", "1 when this fill controller plans (holds the planner lock on the shared database), 0 on a standby.");
    }

    /// <summary>Whether this controller plans now: keeps the lock while its connection answers, takes it when it is free.</summary>
    public bool TryHold()
    {
        if (_database.Provider == DatabaseProvider.Sqlite)
        {
            _planner.Set(1);
            return true;
        }

        lock (_lock)
        {
            var held = _held is not null && StillHeld(_held);
            if (!held && _held is not null)
            {
                _held.Dispose();
                _held = null;
                Lost(_logger);
            }

            if (!held)
            {
                _held = TryTake();
                if (_held is not null)
                {
                    Taken(_logger);
                }
            }

            _planner.Set(_held is null ? 0 : 1);
            return _held is not null;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            // Closing the session ends the lock: a standby plans from its next check.
            _held?.Dispose();
            _held = null;
        }
    }

    private static bool StillHeld(DbConnection connection)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            command.ExecuteScalar();
            return true;
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException)
        {
            return false;
        }
    }

    private DbConnection? TryTake()
    {
        DbConnection? connection = null;
        try
        {
            connection = _database.OpenSession();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT pg_try_advisory_lock({LockKey})";
            if (command.ExecuteScalar() is true)
            {
                return connection;
            }
        }
        catch (Exception ex) when (ex is DbException or StateUnavailableException)
        {
            Unavailable(_logger, ex.Message);
        }

        connection?.Dispose();
        return null;
    }

    [LoggerMessage(EventId = 320, Level = LogLevel.Information, Message = "This fill controller now plans (it holds the planner lock on the state database)")]
    private static partial void Taken(ILogger logger);

    [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "This fill controller lost the planner lock (its database connection ended); it plans again once it holds the lock")]
    private static partial void Lost(ILogger logger);

    [LoggerMessage(EventId = 322, Level = LogLevel.Warning, Message = "Cannot take the planner lock now: {Reason}")]
    private static partial void Unavailable(ILogger logger, string reason);
}
