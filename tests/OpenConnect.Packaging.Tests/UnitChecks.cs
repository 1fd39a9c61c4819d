using System.Globalization;
using System.Text.RegularExpressions;
using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>systemd-analyze over a role's unit file.</summary>
internal static partial class UnitChecks
{
    /// <summary>
    /// <c>systemd-analyze verify</c> of the unit with its program path pointed at <paramref name="program"/>
    /// (verify checks that ExecStart names an executable, and the package is unpacked in a scratch root).
    /// </summary>
    public static async Task<ExternalProcess.Result> VerifyAsync(string unit, string role, string program, string directory)
    {
        var installed = $"ExecStart=/usr/lib/openconnect/{role}/";
        var line = Assert.Single(unit.Split('\n'), l => l.StartsWith(installed, StringComparison.Ordinal));
        var binary = line["ExecStart=".Length..line.IndexOf(' ', StringComparison.Ordinal)];
        var path = Path.Combine(directory, $"openconnect-{role}.service");
        await File.WriteAllTextAsync(path, unit.Replace(line, line.Replace(binary, program, StringComparison.Ordinal), StringComparison.Ordinal));
        return await Packaging.RunAsync("systemd-analyze", ["verify", path]);
    }

    /// <summary>The overall exposure <c>systemd-analyze security --offline=true</c> gives the unit (0 best, 10 worst) and its rating.</summary>
    public static async Task<(double Exposure, string Rating)> SecurityAsync(string unit, string role, string directory)
    {
        var path = Path.Combine(directory, $"openconnect-{role}.service");
        await File.WriteAllTextAsync(path, unit);
        var result = await Packaging.RunAsync("systemd-analyze", ["security", "--offline=true", "--no-pager", path]);
        Assert.True(result.ExitCode == 0, result.StandardOutput + result.StandardError);
        var match = Overall().Match(result.StandardOutput);
        Assert.True(match.Success, result.StandardOutput);
        return (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value);
    }

    [GeneratedRegex(@"Overall exposure level for [^:]+: ([0-9.]+) ([A-Z]+)")]
    private static partial Regex Overall();
}
