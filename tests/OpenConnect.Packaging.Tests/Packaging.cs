using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Packaging.Tests;

/// <summary>Paths and commands of the packaging scripts, shared by the tests.</summary>
internal static class Packaging
{
    public static readonly string[] Roles = ["appliance", "origin", "steering", "fill-controller"];

    public static string Root => FleetBed.RepositoryRoot;

    public static string BuildScript => Path.Combine(Root, "packaging", "build.sh");

    public static string UnitScript => Path.Combine(Root, "packaging", "unit.sh");

    /// <summary>The role's entry assembly from the solution's Release build.</summary>
    public static string RoleAssembly(string role)
    {
        var project = role switch
        {
            "appliance" => "appliance/OpenConnect.Appliance",
            "origin" => "origin/OpenConnect.Origin",
            "steering" => "steering/OpenConnect.Steering",
            "fill-controller" => "fill-controller/OpenConnect.FillController",
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a role"),
        };
        var dll = Path.Combine(Root, project, "bin", "Release", "net10.0", Path.GetFileName(project) + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build first (dotnet build OpenConnect.sln -c Release)", dll);
    }

    public static Task<ExternalProcess.Result> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, string? workingDirectory = null) =>
        ExternalProcess.RunAsync(fileName, arguments, timeout ?? TimeSpan.FromMinutes(1), workingDirectory);

    /// <summary><c>git describe --tags --always --dirty</c> of the work tree, a leading <c>v</c> dropped, as the build stamps it.</summary>
    public static async Task<string> GitDescribeAsync(bool dirty)
    {
        string[] arguments = dirty ? ["describe", "--tags", "--always", "--dirty"] : ["describe", "--tags", "--always"];
        var result = await RunAsync("git", arguments, workingDirectory: Root);
        Assert.True(result.ExitCode == 0, result.StandardError);
        var described = result.StandardOutput.Trim();
        return described.Length > 1 && described[0] == 'v' && char.IsAsciiDigit(described[1]) ? described[1..] : described;
    }

    /// <summary>The Debian form of a version, as build.sh writes it (1.2.0-3-gabc → 1.2.0+3.gabc; 825181a → 0.0.0+git.825181a).</summary>
    public static string DebianVersion(string version)
    {
        var match = System.Text.RegularExpressions.Regex.Match(version, @"^([0-9]+(?:\.[0-9]+)+)(?:-(.+))?$");
        var (upstream, rest) = match.Success ? (match.Groups[1].Value, match.Groups[2].Value) : ("0.0.0", "git." + version);
        return rest.Length == 0 ? upstream : $"{upstream}+{rest.Replace('-', '.')}";
    }
}
