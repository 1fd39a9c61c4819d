using System.Net;
using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>
/// The default configuration files the packages install (<c>packaging/config/ROLE.json</c>) are
/// accepted by their role exactly as written (unknown keys and bad values stop a start): each role
/// starts with its file, only the listen addresses and directories moved to test ones.
/// </summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("appliance")]
    [InlineData("origin")]
    [InlineData("steering")]
    [InlineData("fill-controller")]
    public async Task Role_StartsWithItsPackagedConfiguration(string role)
    {
        using var directory = new TempDirectory("openconnect-config");
        string[] settings = ["--config", ConfigFile(role), .. TestOverrides(role, directory)];
        await using var process = await RoleProcess.StartAsync(role, Packaging.RoleAssembly(role), null, settings);
        using var client = process.CreateManagementClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(0, await process.StopAsync());
    }

    [Fact]
    public async Task Appliance_RefusesToStartUntilTheOriginKeyIsSet_NamingTheSetting()
    {
        using var directory = new TempDirectory("openconnect-config");
        var overrides = TestOverrides("appliance", directory).Where(s => !s.StartsWith("--Appliance:Upstream:AllowUnsignedContent", StringComparison.Ordinal));
        var result = await Packaging.RunAsync("dotnet", [Packaging.RoleAssembly("appliance"), "--config", ConfigFile("appliance"), "--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", .. overrides]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("appliance: cannot start:", result.StandardError);
        Assert.Contains("Appliance:Upstream:IntegrityKeys", result.StandardError);
    }

    private static string ConfigFile(string role) => Path.Combine(Packaging.Root, "packaging", "config", role + ".json");

    /// <summary>Test addresses and directories in place of the packaged ones (ports 80, 8x80, /var/lib/openconnect).</summary>
    private static string[] TestOverrides(string role, TempDirectory directory) => role switch
    {
        "appliance" =>
        [
            $"--Appliance:Cache:Directory={directory.Combine("cache")}",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            "--Appliance:Upstream:AllowUnsignedContent=true",
        ],
        "origin" => [$"--Origin:DataDirectory={directory.Combine("origin")}"],
        "steering" =>
        [
            $"--Steering:DataDirectory={directory.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
        ],
        "fill-controller" => FillControllerOverrides(directory),
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a role"),
    };

    private static string[] FillControllerOverrides(TempDirectory directory)
    {
        // The fill controller refuses to start without its fleet certificate.
        using var fleet = FleetCertificates.Create(directory.Combine("ca"));
        var (certificateFile, keyFile) = fleet.WriteService(directory.Path, "fill-controller", "openconnect://fill-controller");
        return
        [
            $"--FillController:DataDirectory={directory.Combine("fill-controller")}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={fleet.CaCertificateFile}",
        ];
    }
}
