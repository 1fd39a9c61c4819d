using System.Diagnostics;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Launcher.Tests;

/// <summary>A role's process (here a stand-in: <c>sleep</c> in place of dotnet) and its watchdog.</summary>
public sealed class LaunchedRoleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("openconnect-launcher").FullName;

    // The role's command is PREFIX dotnet DLL SETTINGS: a prefix that execs sleep stands in for the role.
    private RoleStart Sleeper(int ownerPid) =>
        new("sleeper", FleetHost.Loopback, typeof(LaunchedRoleTests).Assembly.Location, ["--setting"], Path.Combine(_directory, "logs", "sleeper.log"), "http://127.0.0.1:1", "http://127.0.0.1:2")
        {
            Prefix = ["sh", "-c", "echo role pid $$; exec sleep 600", "sleeper"],
            OwnerPid = ownerPid,
        };

    [Fact]
    public async Task WhenTheOwnerDies_TheWatchdogTakesTheRoleDown()
    {
        using var owner = Process.Start("sleep", "600");
        await using var role = LaunchedRole.Start(Sleeper(owner.Id));
        await WaitAsync(() => File.ReadAllText(role.LogFile).Contains($"role pid {role.Pid}", StringComparison.Ordinal));
        Assert.True(role.Running);

        owner.Kill();
        await owner.WaitForExitAsync();
        await WaitAsync(() => !role.Running);
        Assert.False(role.Running);
    }

    [Fact]
    public async Task TheRoleIsItsOwnProcessGroup_AndLogsIntoItsFile()
    {
        await using var role = LaunchedRole.Start(Sleeper(Environment.ProcessId));
        await WaitAsync(() => File.ReadAllText(role.LogFile).Contains($"role pid {role.Pid}", StringComparison.Ordinal));
        var log = File.ReadAllText(role.LogFile);
        Assert.Contains($"role pid {role.Pid}", log);
        Assert.StartsWith("== ", log);
        var stat = File.ReadAllText($"/proc/{role.Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(role.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[2]); // pgrp
        // SIGTERM ends sleep: the exit code is the signal's (128 + 15).
        Assert.Equal(143, await role.StopAsync());
        Assert.False(role.Running);
    }

    [Fact]
    public async Task Readiness_FailsWithTheRolesLastLines_WhenItExits()
    {
        var start = Sleeper(Environment.ProcessId) with { Prefix = ["sh", "-c", "echo the reason it stopped; exit 3", "sleeper"] };
        await using var role = LaunchedRole.Start(start);
        var error = await Assert.ThrowsAsync<LaunchException>(() => Readiness.WaitForFileAsync(role, Path.Combine(_directory, "never"), TimeSpan.FromSeconds(60)));
        Assert.Contains("sleeper exited (code 3)", error.Message);
        Assert.Contains("the reason it stopped", error.Message);
    }

    [Fact]
    public void Start_WithoutTheBuild_SaysToBuild()
    {
        var error = Assert.Throws<LaunchException>(() => LaunchedRole.Start(Sleeper(Environment.ProcessId) with { Dll = "/nonexistent/OpenConnect.Origin.dll" }));
        Assert.Contains("build first", error.Message);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
