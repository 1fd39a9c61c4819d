namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>Keeps a lease (a chunk job's, a title's) alive while its holder works.</summary>
internal static class LeaseRenewal
{
    /// <summary>Whether an exception means the job store could not be reached (rather than a bug).</summary>
    public static bool IsStoreUnavailable(Exception ex) => ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException;

    /// <summary>
    /// Whether an exception is the job store's server being down, restarting or unreachable (narrower
    /// than <see cref="IsStoreUnavailable"/>): work that met it is resumed once the store answers again
    /// rather than failed. PostgreSQL: a connection that could not be made or broke, and the server's
    /// shutdown, crash and start-up codes (57P01-57P03, class 08); SQLite: a database that stayed busy.
    /// </summary>
    public static bool IsOutage(Exception ex) => ex switch
    {
        Npgsql.PostgresException pg => pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.IsTransient,
        Npgsql.NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException,
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6, // SQLITE_BUSY, SQLITE_LOCKED
        _ => false,
    };

    /// <summary>
    /// Calls <paramref name="renew"/> every third of <paramref name="lease"/> until <paramref name="stop"/>;
    /// cancels <paramref name="lost"/> and returns when a renewal is refused (the lease ran out and
    /// another process claimed the work, or the work was withdrawn). A store that cannot be reached is
    /// reported to <paramref name="unavailable"/> and the work goes on: the next renewal, or the
    /// completion, finds out whether the claim held.
    /// </summary>
    public static async Task RunAsync(Func<bool> renew, TimeSpan lease, TimeProvider time, CancellationTokenSource lost, Action<Exception> unavailable, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                await Task.Delay(lease / 3, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            bool renewed;
            try
            {
                renewed = renew();
            }
            catch (Exception ex) when (IsStoreUnavailable(ex))
            {
                unavailable(ex);
                continue;
            }

            if (!renewed)
            {
                await lost.CancelAsync();
                return;
            }
        }
    }
}
