using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Hosting;
using OpenConnect.Origin.Protection;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Protection;

/// <summary>The KEK file: created owner-only on first start, and a malformed or exposed one stops the origin.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyEncryptionKeyFileTests
{
    [Fact]
    public async Task TheOrigin_CreatesTheKekOwnerOnly_AndServesTitleKeysFromKeysDb()
    {
        using var dir = new TempDirectory();
        TitleKey created;
        await using (var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}"))
        {
            var kekFile = dir.Combine("keys", "content-kek.key");
            Assert.True(File.Exists(kekFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(kekFile));
            Assert.Equal(KeyEncryptionKey.Length, Convert.FromBase64String(File.ReadAllText(kekFile).Trim()).Length);
            Assert.True(File.Exists(dir.Combine("keys.db")));

            var keys = origin.Services.GetRequiredService<ITitleKeys>();
            created = keys.GetOrCreate("t1");
            Assert.True(keys.TryGet("t1", out var again));
            Assert.Equal(created, again, TitleKeyComparer.Instance);
            Assert.False(keys.TryGet("t2", out _));
        }

        // A restart loads the same KEK, so the stored key still unwraps.
        await using var restarted = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        Assert.True(restarted.Services.GetRequiredService<ITitleKeys>().TryGet("t1", out var loaded));
        Assert.Equal(created, loaded, TitleKeyComparer.Instance);
    }

    [Fact]
    public async Task AConfiguredKekFile_IsUsed()
    {
        using var dir = new TempDirectory();
        var kekFile = dir.Combine("elsewhere", "kek");
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", $"--Origin:Protection:KeyEncryptionKeyFile={kekFile}");
        Assert.True(File.Exists(kekFile));
        Assert.False(File.Exists(dir.Combine("keys", "content-kek.key")));
    }

    [Theory]
    [InlineData("not base64 !!", "is not base64")]
    [InlineData("AAECAwQFBgcICQoLDA0ODw==", "holds 16 bytes, expected 32")]
    public async Task AMalformedKek_StopsTheOrigin_NamingTheFile(string content, string expected)
    {
        using var dir = new TempDirectory();
        var kekFile = dir.Combine("keys", "content-kek.key");
        Directory.CreateDirectory(Path.GetDirectoryName(kekFile)!);
        File.WriteAllText(kekFile, content);
        File.SetUnixFileMode(kekFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var message = await StartupFailureAsync(dir);
        Assert.Contains(kekFile, message);
        Assert.Contains(expected, message);
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public async Task AKekOpenToGroupOrOthers_StopsTheOrigin(UnixFileMode extra)
    {
        using var dir = new TempDirectory();
        var kekFile = dir.Combine("keys", "content-kek.key");
        using (KeyEncryptionKey.LoadOrCreate(kekFile))
        {
        }

        File.SetUnixFileMode(kekFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var message = await StartupFailureAsync(dir);
        Assert.Contains(kekFile, message);
        Assert.Contains("accessible by group or others", message);
        Assert.Contains("chmod 600", message);
    }

    [Fact]
    public void BadProtectionSettings_AreRejected_NamingTheKey()
    {
        var options = new OriginOptions { Protection = { LicenseRequestsPerSecond = 0, LicenseRequestBurst = -1, KeyEncryptionKeyFile = "/tmp/" } };
        var check = new OptionsCheck("Origin");
        options.Validate(check);
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Protection:LicenseRequestsPerSecond", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Protection:LicenseRequestBurst", StringComparison.Ordinal));
        Assert.Contains(check.Errors, e => e.StartsWith("Origin:Protection:KeyEncryptionKeyFile", StringComparison.Ordinal));
        Assert.Equal(3, check.Errors.Count);
    }

    private static async Task<string> StartupFailureAsync(TempDirectory dir)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}"));
        return RoleHost.DescribeStartupFailure(failure);
    }
}
