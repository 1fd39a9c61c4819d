using System.Text.RegularExpressions;
using OpenConnect.Hosting;

namespace OpenConnect.Packaging.Tests;

[CollectionDefinition(Name)]
public sealed class SteeringPackageCollection : ICollectionFixture<SteeringPackage>
{
    public const string Name = "steering package";
}

/// <summary>What the steering package installs, checked in the scratch root it was unpacked into.</summary>
[Collection(SteeringPackageCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PackageTests(SteeringPackage package)
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode Regular = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    [Fact]
    public void Package_InstallsTheRoleItsProgramConfigurationAndUnit()
    {
        var binary = package.InRoot("/usr/lib/openconnect/steering/OpenConnect.Steering");
        Assert.Equal(Executable, File.GetUnixFileMode(binary));
        Assert.True(File.Exists(package.InRoot("/usr/lib/openconnect/steering/OpenConnect.Steering.dll")));
        // Self-contained: the runtime is in the package.
        Assert.True(File.Exists(package.InRoot("/usr/lib/openconnect/steering/libcoreclr.so")));
        Assert.Equal(Regular, File.GetUnixFileMode(package.InRoot("/usr/lib/openconnect/steering/OpenConnect.Steering.dll")));
        Assert.Empty(Directory.GetFiles(package.InRoot("/usr/lib/openconnect/steering"), "*.xml"));

        var launcher = new FileInfo(package.InRoot("/usr/bin/openconnect-steering"));
        Assert.Equal("../lib/openconnect/steering/OpenConnect.Steering", launcher.LinkTarget);
        Assert.Equal(Path.GetFullPath(binary), launcher.ResolveLinkTarget(returnFinalTarget: true)?.FullName);

        Assert.Equal(Regular, File.GetUnixFileMode(package.InRoot("/etc/openconnect/steering.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(Packaging.Root, "packaging", "config", "steering.json")), File.ReadAllText(package.InRoot("/etc/openconnect/steering.json")));
        Assert.Equal(Regular, File.GetUnixFileMode(package.InRoot("/usr/lib/systemd/system/openconnect-steering.service")));
        Assert.Contains("Apache License", File.ReadAllText(package.InRoot("/usr/share/doc/openconnect-steering/copyright")));
    }

    [Fact]
    public async Task Package_IsOwnedByRoot_AndMarksTheConfigurationAsConffile()
    {
        var listing = await Packaging.RunAsync("dpkg-deb", ["--contents", package.DebFile]);
        Assert.Equal(0, listing.ExitCode);
        var owners = listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]).Distinct();
        Assert.Equal(["root/root"], owners);

        Assert.Equal(["/etc/openconnect/steering.json"], File.ReadAllLines(Path.Combine(package.ControlDirectory, "conffiles")));
    }

    [Fact]
    public void Control_NamesThePackageItsGitVersionAndDependencies()
    {
        var fields = File.ReadAllLines(Path.Combine(package.ControlDirectory, "control"))
            .Where(l => !l.StartsWith(' ') && l.Contains(':'))
            .ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..].Trim());
        Assert.Equal("openconnect-steering", fields["Package"]);
        Assert.Equal(Packaging.DebianVersion(package.GitVersion), fields["Version"]);
        Assert.Equal("amd64", fields["Architecture"]);
        Assert.Contains("adduser", fields["Depends"].Split(", "));
        Assert.Contains("libssl3", fields["Depends"].Split(", "));
        Assert.True(long.Parse(fields["Installed-Size"], System.Globalization.CultureInfo.InvariantCulture) > 10_000);
        Assert.EndsWith($"openconnect-steering_{fields["Version"]}_amd64.deb", package.DebFile);
    }

    [Theory]
    [InlineData("postinst")]
    [InlineData("prerm")]
    [InlineData("postrm")]
    public async Task MaintainerScripts_AreExecutableShellScripts(string script)
    {
        var path = Path.Combine(package.ControlDirectory, script);
        Assert.Equal(Executable, File.GetUnixFileMode(path));
        var syntax = await Packaging.RunAsync("sh", ["-n", path]);
        Assert.True(syntax.ExitCode == 0, syntax.StandardError);
        Assert.DoesNotContain("@ROLE@", File.ReadAllText(path));
    }

    [Fact]
    public void Postinst_CreatesTheServiceUser_AndLeavesAFirstInstallStopped()
    {
        var postinst = File.ReadAllText(Path.Combine(package.ControlDirectory, "postinst"));
        Assert.Contains("user=openconnect-steering", postinst);
        Assert.Matches(new Regex(@"adduser --system --group .*""\$user"""), postinst);
        // systemctl runs only to reload units and restart a running service on upgrade: a first
        // install never enables or starts it (the operator sets site-specific values first).
        var commands = postinst.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("systemctl ", StringComparison.Ordinal));
        Assert.Equal(["systemctl daemon-reload >/dev/null || true", "systemctl try-restart \"$unit\" >/dev/null || true"], commands);
    }

    [Fact]
    public async Task PackagedProgram_PrintsTheGitVersion()
    {
        var result = await Packaging.RunAsync(package.InRoot("/usr/bin/openconnect-steering"), [RoleVersion.Argument]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"openconnect-steering {package.GitVersion}", result.StandardOutput.Trim());
        Assert.Empty(result.StandardError);
    }

    [Fact]
    public async Task PackagedUnit_PassesSystemdAnalyzeVerify()
    {
        var unit = File.ReadAllText(package.InRoot("/usr/lib/systemd/system/openconnect-steering.service"));
        Assert.Contains("ExecStart=/usr/lib/openconnect/steering/OpenConnect.Steering --config /etc/openconnect/steering.json", unit);
        Assert.Contains("Type=notify", unit);
        Assert.Contains("StateDirectory=openconnect/steering", unit);
        Assert.Contains("User=openconnect-steering", unit);

        using var directory = new OpenConnect.Testing.TempDirectory("openconnect-unit");
        var verify = await UnitChecks.VerifyAsync(unit, "steering", package.InRoot("/usr/lib/openconnect/steering/OpenConnect.Steering"), directory.Path);
        Assert.True(verify.ExitCode == 0 && verify.StandardError.Length == 0 && verify.StandardOutput.Length == 0, verify.StandardOutput + verify.StandardError);
    }
}
