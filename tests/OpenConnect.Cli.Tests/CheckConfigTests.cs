using OpenConnect.Testing;

namespace OpenConnect.Cli.Tests;

/// <summary>
/// <c>check-config ROLE FILE</c> runs the role's own binding and validation: a file the role would
/// start with passes, and one it would refuse fails with the key at fault, as at the role's start.
/// </summary>
public sealed class CheckConfigTests : IDisposable
{
    private readonly TempDirectory _directory = new("openconnect-cli-config");

    private string Write(string name, string json)
    {
        var path = _directory.Combine(name);
        File.WriteAllText(path, json);
        return path;
    }

    private string ValidFile(string role) => role switch
    {
        "steering" => Write("steering.json", """{ "Steering": { "DefaultSite": "isp1", "MaxLoadFraction": 0.8 } }"""),
        "origin" => Write("origin.json", $$"""{ "Origin": { "DataDirectory": "{{_directory.Combine("origin")}}" } }"""),
        // The test-only switch stands in for the origin's public key, which a real file would carry.
        "appliance" => Write("appliance.json", """
            // Comments are allowed, as in the packaged files.
            { "Appliance": { "Site": "isp1", "Upstream": { "AllowUnsignedContent": true } } }
            """),
        "fill-controller" => FillControllerFile(),
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    private string FillControllerFile()
    {
        using var fleet = FleetCertificates.Create(_directory.Combine("ca"));
        var (certificate, key) = fleet.WriteService(_directory.Path, "fill-controller", "openconnect://fill-controller");
        return Write("fill-controller.json", $$"""
            { "FillController": { "DataDirectory": "{{_directory.Combine("fc")}}",
              "Fleet": { "CertificateFile": "{{certificate}}", "KeyFile": "{{key}}", "CaCertificateFile": "{{fleet.CaCertificateFile}}" } } }
            """);
    }

    [Theory]
    [InlineData("appliance")]
    [InlineData("steering")]
    [InlineData("origin")]
    [InlineData("fill-controller")]
    public async Task AFileTheRoleAccepts_IsOk(string role)
    {
        var file = ValidFile(role);
        var run = await CliRun.RunAsync("check-config", role, file);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal($"{role}: {file} ok", run.Output.Trim());
    }

    /// <summary>
    /// The files the packages install as <c>/etc/openconnect/ROLE.json</c> pass the role's own checks as
    /// shipped, once the values only an operator can supply are in: the origin's public key on an
    /// appliance, the fill controller's fleet certificate in its state directory.
    /// </summary>
    [Theory]
    [InlineData("appliance")]
    [InlineData("steering")]
    [InlineData("origin")]
    [InlineData("fill-controller")]
    public async Task ThePackagedFile_IsOk_OnceTheOperatorsValuesAreIn(string role)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "packaging", "config", role + ".json"));
        switch (role)
        {
            case "appliance":
                var key = Contracts.Security.Ed25519SigningKey.LoadOrCreate(_directory.Combine("origin-keys", "origin-signing.key")).PublicKey;
                text = Replace(text, "\"IntegrityKeys\": []", $"\"IntegrityKeys\": [\"{key}\"]");
                break;
            case "fill-controller":
                var data = _directory.Combine("fill-state");
                using (var fleet = FleetCertificates.Create(_directory.Combine("packaged-ca")))
                {
                    fleet.WriteService(Path.Combine(data, "fleet"), "fill-controller", "openconnect://fill-controller");
                    File.Copy(fleet.CaCertificateFile, Path.Combine(data, "fleet", "ca.crt"));
                }

                text = Replace(text, "\"/var/lib/openconnect/fill-controller\"", $"\"{data}\"");
                break;
        }

        var file = Write("packaged-" + role + ".json", text);
        var run = await CliRun.RunAsync("check-config", role, file);
        Assert.True(run.ExitCode == 0, run.ToString());

        static string Replace(string text, string what, string with)
        {
            Assert.Contains(what, text);
            return text.Replace(what, with, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnUnknownKey_IsRefused_NamingIt()
    {
        var file = Write("unknown.json", """{ "Steering": { "DefaultSite": "isp1", "Fleet": { "EnrolUrl": "https://10.0.0.2:8281" } } }""");
        var run = await CliRun.RunAsync("check-config", "steering", file);
        Assert.Equal(1, run.ExitCode);
        Assert.Empty(run.Output);
        Assert.Contains("'EnrolUrl'", run.Error);
        Assert.StartsWith($"steering: {file}: section 'Steering'", run.Error);
    }

    [Fact]
    public async Task AnInvalidValue_IsRefused_NamingTheFullKey()
    {
        var file = Write("invalid.json", """{ "Steering": { "MaxLoadFraction": 3, "HeartbeatInterval": "00:05:00" } }""");
        var run = await CliRun.RunAsync("check-config", "steering", file);
        Assert.Equal(1, run.ExitCode);
        var lines = run.Error.Trim().Split('\n');
        Assert.Contains(lines, line => line.StartsWith($"steering: {file}: Steering:MaxLoadFraction = '3' is invalid", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith($"steering: {file}: Steering:HeartbeatInterval = '00:05:00' is invalid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AValueThatDoesNotConvert_IsRefused()
    {
        var file = Write("convert.json", """{ "Steering": { "MaxLoadFraction": "most" } }""");
        var run = await CliRun.RunAsync("check-config", "steering", file);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("MaxLoadFraction", run.Error);
    }

    [Fact]
    public async Task TheAppliance_RefusesAFileWithoutTheOriginKey_NamingTheSetting()
    {
        var file = Write("appliance-nokey.json", """{ "Appliance": { "Site": "isp1" } }""");
        var run = await CliRun.RunAsync("check-config", "appliance", file);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("Appliance:Upstream:IntegrityKeys", run.Error);
    }

    [Fact]
    public async Task BadJson_IsRefused_WithWhereItBreaks()
    {
        var file = Write("broken.json", "{ \"Steering\": { \"DefaultSite\": \"isp1\" \n");
        var run = await CliRun.RunAsync("check-config", "steering", file);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"steering: {file}: not valid JSON:", run.Error);
        Assert.Contains("LineNumber", run.Error);
    }

    [Fact]
    public async Task AMissingFile_IsAUsageError()
    {
        var file = _directory.Combine("absent.json");
        var run = await CliRun.RunAsync("check-config", "origin", file);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"origin: {file}: no such file", run.Error.Trim());
    }

    [Fact]
    public async Task AnUnknownRole_IsAUsageError_ListingTheRoles()
    {
        var run = await CliRun.RunAsync("check-config", "edge", ValidFile("steering"));
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("unknown role 'edge': expected one of appliance, steering, origin, fill-controller", run.Error.Trim());
    }

    public void Dispose() => _directory.Dispose();
}
