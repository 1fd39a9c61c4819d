using OpenConnect.Hosting;
using OpenConnect.Hosting.Database;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.State;

/// <summary>
/// <c>FillController:Database</c> is checked at start: a bad combination names the setting without
/// echoing the connection string, and a PostgreSQL that cannot be reached stops the process with one
/// line naming host and port (never the password).
/// </summary>
public sealed class DatabaseSettingsTests
{
    [Theory]
    [InlineData(DatabaseProvider.PostgreSql, "", "exactly one of Database:ConnectionString and Database:ConnectionStringFile")]
    [InlineData(DatabaseProvider.PostgreSql, "Port=5432;Password=hunter2", "Host is missing")]
    [InlineData(DatabaseProvider.PostgreSql, "Host=db;Colour=blue;Password=hunter2", "is not a valid Npgsql connection string: it does not parse")]
    [InlineData(DatabaseProvider.Sqlite, "Host=db;Password=hunter2", "only used with Database:Provider=PostgreSql")]
    public void ABadCombination_IsRefusedNamingTheSetting_WithoutTheConnectionString(DatabaseProvider provider, string connectionString, string problem)
    {
        var check = new OptionsCheck(FillControllerOptions.SectionName);
        new DatabaseOptions { Provider = provider, ConnectionString = connectionString }.Validate(check, "Database");

        var error = Assert.Single(check.Errors);
        Assert.StartsWith("FillController:Database:ConnectionString", error, StringComparison.Ordinal);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AConnectionStringFile_OthersCanRead_IsRefused_AndAPrivateOneIsRead()
    {
        using var dir = new TempDirectory("openconnect-fill-db");
        var file = dir.Combine("database");
        File.WriteAllText(file, "Host=db.example;Database=fill;Password=hunter2\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var options = new DatabaseOptions { Provider = DatabaseProvider.PostgreSql, ConnectionStringFile = file };
        var check = new OptionsCheck(FillControllerOptions.SectionName);
        options.Validate(check, "Database");
        Assert.Empty(check.Errors);

        Assert.Contains("chmod 600", Assert.Throws<InvalidOperationException>(() => options.ResolveConnectionString("FillController:Database")).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal("Host=db.example;Database=fill;Password=hunter2", options.ResolveConnectionString("FillController:Database"));
    }

    [Fact]
    public async Task BuildingTheHostWithoutStartingIt_AsAConfigCheckDoes_OpensNoDatabase()
    {
        using var dir = new TempDirectory("openconnect-fill-db");
        using var fleet = FleetCertificates.Create(dir.Combine("steering-fleet"));
        var app = FillControllerHost.Build([.. Settings(dir, fleet)]);
        await app.DisposeAsync();
        Assert.False(File.Exists(Path.Combine(dir.Combine("data"), "fill.db")));
        Assert.False(File.Exists(Path.Combine(dir.Combine("data"), "popularity.db")));
    }

    [Fact]
    public async Task APostgreSqlThatCannotBeReached_StopsTheStart_WithOneLineNamingHostAndPort()
    {
        using var dir = new TempDirectory("openconnect-fill-db");
        using var fleet = FleetCertificates.Create(dir.Combine("steering-fleet"));
        var closed = RoleProcess.FreePort();
        var result = await ExternalProcess.RunAsync("dotnet",
        [
            typeof(FillControllerHost).Assembly.Location,
            .. Settings(dir, fleet),
            "--FillController:Database:Provider=PostgreSql",
            $"--FillController:Database:ConnectionString=Host=127.0.0.1;Port={closed};Database=fill;Username=fill;Password=hunter2",
        ], TimeSpan.FromSeconds(60));

        Assert.Equal(RoleHost.StartupFailureExitCode, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("fill-controller: cannot start: FillController:Database: cannot open PostgreSQL at 127.0.0.1:" + closed, line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.StandardError + result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardError + result.StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.Combine("data"), "fill.db")));
    }

    /// <summary>A fill controller's settings on loopback with a fleet certificate, its data in <c>data/</c>.</summary>
    private static string[] Settings(TempDirectory dir, FleetCertificates fleet)
    {
        var (certificateFile, keyFile) = fleet.WriteService(dir.Combine("fleet"), "fill-controller", "openconnect://fill-controller");
        return
        [
            "--urls", "http://127.0.0.1:0",
            "--Management:Url=http://127.0.0.1:0",
            $"--FillController:DataDirectory={dir.Combine("data")}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={fleet.CaCertificateFile}",
        ];
    }
}
