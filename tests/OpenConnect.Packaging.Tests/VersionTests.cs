using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>Every role answers <c>--version</c> with the version the build stamped from git, and starts nothing.</summary>
public sealed class VersionTests
{
    public static TheoryData<string> Roles => new(Packaging.Roles);

    [Fact]
    public async Task StampedVersion_IsGitDescribe()
    {
        // The tree may have changed (--dirty) since the build, the commit not.
        var commit = await Packaging.GitDescribeAsync(dirty: false);
        Assert.True(RoleVersion.Current == commit || RoleVersion.Current == commit + "-dirty", $"stamped {RoleVersion.Current}, git describe {commit}");
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Role_PrintsItsVersion_AndExitsWithoutStarting(string role)
    {
        using var directory = new TempDirectory("openconnect-version");
        // A missing config file stops a start with exit code 2: --version must not get that far.
        var result = await Packaging.RunAsync("dotnet", [Packaging.RoleAssembly(role), "--config", directory.Combine("missing.json"), "--version"], workingDirectory: directory.Path);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"openconnect-{role} {RoleVersion.Current}", result.StandardOutput.Trim());
        Assert.Empty(result.StandardError);
        // No state directory, key or log was written.
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory.Path));
    }
}
