using System.Data.Common;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.State;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.FillController.Tests.State;

/// <summary>
/// The fill store on a PostgreSQL that is killed and restarted: committed state is kept, and the store
/// carries on: at most one operation fails on a connection the restart left dead, not one per pooled connection.
/// </summary>
public sealed class ServerRestartTests
{
    [Fact]
    public async Task AfterTheServerIsKilledAndRestarted_TheStoreReadsWhatWasCommitted_AndWritesAgain()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await TestDatabase.CreateOnAsync(server.ConnectionString);
        using var state = StateDatabase.PostgreSql(database.ConnectionString);
        var store = new FillStore(state);
        var day = new DateOnly(2026, 11, 24);
        FileId file = new("t1", "r0");
        var version = store.AddManifest("oca-1", "isp1", day, [file], v => [(byte)v]);
        // Several pooled connections, idle when the server goes.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.CurrentFiles(null))));
        store.RecordProgress(version, [(file, FillStore.Done, "", 10)]);

        await server.KillAsync();
        await server.RestartAsync();

        var failures = 0;
        IReadOnlyList<PlannedFile>? files = null;
        while (files is null && failures < 5)
        {
            try
            {
                files = store.CurrentFiles("isp1");
            }
            catch (Exception ex) when (ex is DbException or StateUnavailableException)
            {
                failures++;
            }
        }

        Assert.True(failures <= 1, $"{failures} operations failed after the restart");
        Assert.Equal([new PlannedFile("oca-1", file, FillStore.Done, "")], files);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.CurrentFiles(null))));
        Assert.Equal(version + 1, store.AddManifest("oca-2", "isp1", day, [file], v => [(byte)v]));

        // While the server is down, a store operation fails naming where the database was looked for.
        await server.StopAsync();
        var down = Assert.ThrowsAny<Exception>(() => store.CurrentFiles(null));
        await server.RestartAsync();
        Assert.True(down is DbException or StateUnavailableException, down.ToString());
        Assert.Equal(2, store.CurrentFiles(null).Count);
    }
}
