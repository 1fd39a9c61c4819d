using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Testing;

namespace OpenConnect.Hosting.Tests;

/// <summary>The kit's reload path: what changed, what applies live, what is refused, and certificates for new connections.</summary>
public sealed class ReloadTests
{
    private static readonly LiveSetting[] Live = [new("Reload:Greeting"), new("Logging:LogLevel")];

    [Theory]
    [InlineData("Reload:Greeting", true)]
    [InlineData("reload:greeting", true)]
    [InlineData("Logging:LogLevel:Default", true)]
    [InlineData("Reload:GreetingSuffix", false)]
    [InlineData("Reload", false)]
    [InlineData("Reload:Directory", false)]
    [InlineData("urls", false)]
    public void IsLive_CoversTheKeyAndKeysBelowIt_Only(string key, bool live) =>
        Assert.Equal(live, ConfigurationDiff.IsLive(key, Live));

    [Fact]
    public void Compare_ListsAddedRemovedAndChangedLeaves_SortedAndClassified_IgnoringSectionsAndKeyCase()
    {
        KeyValuePair<string, string?>[] running =
        [
            new("Reload", null),
            new("Reload:Greeting", "hello"),
            new("Reload:Directory", "/var/a"),
            new("Reload:Old", "x"),
            new("urls", "http://127.0.0.1:1"),
        ];
        KeyValuePair<string, string?>[] next =
        [
            new("Reload", null),
            new("reload:greeting", "bonjour"),
            new("Reload:Directory", "/var/b"),
            new("Logging:LogLevel:Default", "Debug"),
            new("urls", "http://127.0.0.1:1"),
        ];

        var changes = ConfigurationDiff.Compare(running, next, Live);

        Assert.Equal(
            [
                new ChangedKey("Logging:LogLevel:Default", KeyChange.Added, Live: true),
                new ChangedKey("Reload:Directory", KeyChange.Changed, Live: false),
                new ChangedKey("reload:greeting", KeyChange.Changed, Live: true),
                new ChangedKey("Reload:Old", KeyChange.Removed, Live: false),
            ],
            changes);
    }

    [Fact]
    public void Compare_SameValues_NoChanges() =>
        Assert.Empty(ConfigurationDiff.Compare([new("A:B", "1")], [new("a:b", "1")], Live));

    [Fact]
    public async Task ValidNewFile_AppliesLiveKeys_NamesRestartKeys_AndRestartKeysKeepTheirStartValue()
    {
        var (dir, config, role) = await StartWithConfigAsync();
        using var directory = dir;
        await using var running = role;
        using var client = role.CreateClient();
        Assert.Equal("hello /var/lib/a", await client.GetStringAsync("/settings"));

        WriteConfig(config, greeting: "bonjour", directory: "/var/lib/b");
        var report = role.Services.GetRequiredService<ConfigurationReloader>().Reload();

        Assert.True(report.Applied);
        Assert.Equal(
            [new ChangedKey("Reload:Directory", KeyChange.Changed, Live: false), new ChangedKey("Reload:Greeting", KeyChange.Changed, Live: true)],
            report.Changes);
        Assert.Equal("bonjour /var/lib/a", await client.GetStringAsync("/settings"));
    }

    [Fact]
    public async Task FileThatDoesNotParse_IsRefused_NamingTheFile_AndTheRunningConfigurationStays()
    {
        var (dir, config, role) = await StartWithConfigAsync();
        using var directory = dir;
        await using var running = role;

        File.WriteAllText(config, """{ "Reload": { "Greeting": "bonjour", """);
        var report = role.Services.GetRequiredService<ConfigurationReloader>().Reload();

        Assert.False(report.Applied);
        Assert.Contains("role.json", Assert.Single(report.Refusals), StringComparison.Ordinal);
        Assert.Empty(report.Changes);
        using var client = role.CreateClient();
        Assert.Equal("hello /var/lib/a", await client.GetStringAsync("/settings"));
    }

    [Theory]
    [InlineData("""{ "Reload": { "Greeting": "" } }""", "Reload:Greeting")]
    [InlineData("""{ "Reload": { "Greeting": "bonjour", "Colour": "blue" } }""", "Colour")]
    [InlineData("""{ "ControlTls": { "CertificateFile": "/nonexistent/control.pem" } }""", "ControlTls:CertificateFile")]
    public async Task ValueThatFailsValidation_IsRefused_NamingTheKey_AndTheRunningConfigurationStays(string json, string key)
    {
        var (dir, config, role) = await StartWithConfigAsync();
        using var directory = dir;
        await using var running = role;

        File.WriteAllText(config, json);
        var report = role.Services.GetRequiredService<ConfigurationReloader>().Reload();

        Assert.False(report.Applied);
        Assert.Contains(report.Refusals, r => r.Contains(key, StringComparison.Ordinal));
        using var client = role.CreateClient();
        Assert.Equal("hello /var/lib/a", await client.GetStringAsync("/settings"));
    }

    [Fact]
    public async Task NewCertificateFiles_ServeNewConnections_WhileAnOpenConnectionKeepsWorking()
    {
        using var dir = new TempDirectory();
        var (certificateFile, keyFile) = (dir.Combine("tls.crt"), dir.Combine("tls.key"));
        using var first = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=first");
        var config = dir.Combine("role.json");
        WriteConfig(config, greeting: "hello", directory: "/var/lib/a");
        await using var role = await StartAsync(
            config,
            "--urls", "https://127.0.0.1:0",
            $"--Kestrel:Certificates:Default:Path={certificateFile}",
            $"--Kestrel:Certificates:Default:KeyPath={keyFile}");

        using var open = await RawHttp.ConnectTlsAsync(role.BaseAddress);
        Assert.Equal(first.Thumbprint, open.ServerCertificate!.Thumbprint);
        Assert.Equal("hello /var/lib/a", await GetAsync(open, "/settings"));

        using var second = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=second");
        var report = role.Services.GetRequiredService<ConfigurationReloader>().Reload();
        Assert.Contains(report.Replaced, p => p.Contains("Kestrel:Certificates:Default", StringComparison.Ordinal));

        using var fresh = await RawHttp.ConnectTlsAsync(role.BaseAddress);
        Assert.Equal(second.Thumbprint, fresh.ServerCertificate!.Thumbprint);
        Assert.Equal("hello /var/lib/a", await GetAsync(open, "/settings"));
        Assert.Equal("hello /var/lib/a", await GetAsync(fresh, "/settings"));

        // A file that does not hold a certificate is refused, naming the setting; the current one stays.
        File.WriteAllText(certificateFile, "not a certificate");
        report = role.Services.GetRequiredService<ConfigurationReloader>().Reload();
        Assert.Contains(report.Failures, f => f.Contains("Kestrel:Certificates:Default:Path", StringComparison.Ordinal));
        using var third = await RawHttp.ConnectTlsAsync(role.BaseAddress);
        Assert.Equal(second.Thumbprint, third.ServerCertificate!.Thumbprint);
    }

    [Fact]
    public void ServerCertificateHolder_ReplacesOnlyADifferentCertificate_AndRefusesABrokenOne_NamingTheSetting()
    {
        using var dir = new TempDirectory();
        var (certificateFile, keyFile) = (dir.Combine("control.crt"), dir.Combine("control.key"));
        using var first = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=first");
        var holder = new ServerCertificateHolder("control TLS certificate", () => ServerCertificateHolder.LoadFiles("ControlTls:CertificateFile", certificateFile, keyFile, password: null));
        Assert.Equal(first.Thumbprint, holder.Current.Thumbprint);
        Assert.True(holder.Current.HasPrivateKey);

        Assert.False(holder.Reload());

        using var second = ServerCertificateFiles.Write(certificateFile, keyFile, "CN=second");
        Assert.True(holder.Reload());
        Assert.Equal(second.Thumbprint, holder.Current.Thumbprint);

        File.WriteAllText(keyFile, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
        var refused = Assert.Throws<InvalidOperationException>(() => holder.Reload());
        Assert.StartsWith("ControlTls:CertificateFile '", refused.Message, StringComparison.Ordinal);
        Assert.Equal(second.Thumbprint, holder.Current.Thumbprint);

        File.Delete(certificateFile);
        Assert.Contains("does not exist", Assert.Throws<InvalidOperationException>(() => holder.Reload()).Message, StringComparison.Ordinal);
        Assert.Equal(second.Thumbprint, holder.Current.Thumbprint);
    }

    private static async Task<string> GetAsync(RawHttp connection, string path)
    {
        var response = await connection.GetAsync(path);
        Assert.Equal(200, response.Status);
        return response.Text;
    }

    /// <summary>A role started with a config file holding <c>hello</c> and <c>/var/lib/a</c>.</summary>
    private static async Task<(TempDirectory Directory, string Config, RunningRole Role)> StartWithConfigAsync()
    {
        var dir = new TempDirectory();
        var config = dir.Combine("role.json");
        WriteConfig(config, greeting: "hello", directory: "/var/lib/a");
        return (dir, config, await StartAsync(config));
    }

    private static void WriteConfig(string path, string greeting, string directory) =>
        File.WriteAllText(path, JsonSerializer.Serialize(new { Reload = new { Greeting = greeting, Directory = directory } }));

    private static Task<RunningRole> StartAsync(string config, params string[] settings) =>
        RunningRole.StartAsync(Build, ["--config", config, .. settings]);

    private static WebApplication Build(string[] args)
    {
        var builder = RoleHost.CreateBuilder("reload-test", "http://127.0.0.1:0", args);
        RoleListeners.Add(builder, new RoleListenerSpec { DefaultUrls = "http://127.0.0.1:0", DefaultManagementUrl = "http://127.0.0.1:0" });
        builder.Services.AddRoleOptions<ReloadOptions>(builder.Configuration);
        builder.Services.AddLiveSettings("Reload:Greeting");
        var app = builder.Build();
        app.MapRoleEndpoints();
        app.MapGet("/settings", (IOptionsMonitor<ReloadOptions> live, IOptions<ReloadOptions> start) =>
            Results.Text($"{live.CurrentValue.Greeting} {start.Value.Directory}"));
        return app;
    }

    /// <summary>A live setting and one read once at start.</summary>
    private sealed class ReloadOptions : IRoleOptions<ReloadOptions>
    {
        public static string SectionName => "Reload";

        public string Greeting { get; set; } = "hi";

        public string Directory { get; set; } = "/var/lib/x";

        public void Validate(OptionsCheck check) => check.Require(Greeting.Length > 0, "Greeting", Greeting, "must not be empty");
    }
}
