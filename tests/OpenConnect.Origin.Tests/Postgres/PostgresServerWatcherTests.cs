using System.Diagnostics;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Postgres;

/// <summary>A test's own PostgreSQL server does not outlive the process that started it, however that process ends.</summary>
public sealed class PostgresServerWatcherTests
{
    [Fact]
    public async Task AServerWhoseOwnerIsKilled_IsStoppedAndItsDirectoryDeleted()
    {
        using var owner = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        await using var server = await PostgresServer.StartAsync(owner.Id);
        var postmaster = server.PostmasterPid;
        Assert.True(IsRunning(postmaster));

        owner.Kill();
        await owner.WaitForExitAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (IsRunning(postmaster) || Directory.Exists(server.Directory))
        {
            Assert.True(DateTime.UtcNow < deadline, "the server outlived its owner by 60 s");
            await Task.Delay(100);
        }
    }

    private static bool IsRunning(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
}
