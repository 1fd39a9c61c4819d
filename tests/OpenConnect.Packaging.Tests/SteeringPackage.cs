using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>
/// The steering package, built once for the test class by <c>packaging/build.sh --role steering</c>
/// (a real self-contained publish and dpkg-deb), then unpacked into a scratch root with
/// <c>dpkg-deb -x</c>, its control files with <c>dpkg-deb -e</c>.
/// </summary>
public sealed class SteeringPackage : IAsyncLifetime
{
    public const string Role = "steering";

    private readonly TempDirectory _directory = new("openconnect-package");

    public string Output => _directory.Combine("out");

    /// <summary>The scratch root the package is unpacked into.</summary>
    public string ScratchRoot => _directory.Combine("root");

    /// <summary>The package's control files (control, conffiles, postinst, prerm, postrm).</summary>
    public string ControlDirectory => _directory.Combine("control");

    public string DebFile { get; private set; } = "";

    /// <summary>What build.sh printed.</summary>
    public string BuildLog { get; private set; } = "";

    /// <summary><c>git describe --tags --always --dirty</c> while the package was built.</summary>
    public string GitVersion { get; private set; } = "";

    public string InRoot(string path) => Path.Combine(ScratchRoot, path.TrimStart('/'));

    public async Task InitializeAsync()
    {
        GitVersion = await Packaging.GitDescribeAsync(dirty: true);
        var build = await Packaging.RunAsync("bash", [Packaging.BuildScript, "--role", Role, "--out", Output], TimeSpan.FromMinutes(20));
        BuildLog = build.StandardOutput + build.StandardError;
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"build.sh exited with {build.ExitCode}:\n{BuildLog}");
        }

        DebFile = Assert.Single(Directory.GetFiles(Output, "*.deb"));
        foreach (var (option, target) in new[] { ("-x", ScratchRoot), ("-e", ControlDirectory) })
        {
            var unpack = await Packaging.RunAsync("dpkg-deb", [option, DebFile, target]);
            if (unpack.ExitCode != 0)
            {
                throw new InvalidOperationException($"dpkg-deb {option} failed: {unpack.StandardError}");
            }
        }
    }

    public Task DisposeAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}
