using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>Every role's unit as packaging/unit.sh makes it: valid for systemd and well sandboxed.</summary>
public sealed class UnitTests
{
    public static TheoryData<string> Roles => new(Packaging.Roles);

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Unit_PassesSystemdAnalyzeVerify(string role)
    {
        using var directory = new TempDirectory("openconnect-unit");
        var unit = await UnitAsync(role);
        // Any executable stands in for the role's program, which only the package installs.
        var verify = await UnitChecks.VerifyAsync(unit, role, "/bin/true", directory.Path);
        Assert.True(verify.ExitCode == 0 && verify.StandardError.Length == 0 && verify.StandardOutput.Length == 0, verify.StandardOutput + verify.StandardError);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task Unit_IsRatedOkBySystemdAnalyzeSecurity(string role)
    {
        using var directory = new TempDirectory("openconnect-unit");
        var (exposure, rating) = await UnitChecks.SecurityAsync(await UnitAsync(role), role, directory.Path);
        // 1.4 to 1.8 when written (0 is best, 10 worst; "OK" up to 4.9): a unit that loses a
        // protection fails here.
        Assert.True(exposure <= 2.0, $"exposure {exposure} {rating}");
        Assert.Equal("OK", rating);
    }

    [Theory]
    [InlineData("appliance", "LimitNOFILE=1048576", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE")]
    [InlineData("origin", "LimitNOFILE=65536", "RestrictNamespaces=user net")]
    [InlineData("steering", "LimitNOFILE=65536", "CapabilityBoundingSet=\n")]
    [InlineData("fill-controller", "LimitNOFILE=65536", "RestrictNamespaces=yes")]
    public async Task Unit_CarriesTheRolesLimitsAndPrivileges(string role, string limit, string privileges)
    {
        var unit = await UnitAsync(role);
        Assert.Contains(limit + "\n", unit);
        Assert.Contains(privileges, unit);
        Assert.Contains($"StateDirectory=openconnect/{role}\n", unit);
        Assert.Contains($"User=openconnect-{role}\n", unit);
        Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID\n", unit);
        Assert.DoesNotContain("@", unit.Replace("SystemCallFilter=@system-service", "").Replace("SystemCallFilter=~@privileged @obsolete", ""));
    }

    [Fact]
    public async Task UnitScript_RejectsAnUnknownRole()
    {
        var result = await Packaging.RunAsync("bash", [Packaging.UnitScript, "bogus"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage:", result.StandardError);
        Assert.Empty(result.StandardOutput);
    }

    private static async Task<string> UnitAsync(string role)
    {
        var result = await Packaging.RunAsync("bash", [Packaging.UnitScript, role]);
        Assert.True(result.ExitCode == 0, result.StandardError);
        return result.StandardOutput;
    }
}
