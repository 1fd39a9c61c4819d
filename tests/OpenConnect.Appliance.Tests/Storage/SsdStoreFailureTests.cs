using System.Diagnostics;
using Xunit.Abstractions;

namespace OpenConnect.Appliance.Tests.Storage;

public sealed class SsdStoreFailureTests(ITestOutputHelper output) : IDisposable
{
    private const int SsdStoreFailureLimit = OpenConnect.Appliance.Storage.SsdStore.UnhealthyAfterFailures;

    private readonly StoreFixture _fixture = new();

    /// <summary>
    /// A real full disk: the store lives on an 8 MiB tmpfs. Needs root (mount), which the test
    /// environment has; without it the test fails rather than pass without having run.
    /// </summary>
    [Fact]
    public async Task Disk_full_fails_commits_quietly_and_health_follows()
    {
        Assert.True(TryMountTmpfs(_fixture.Directory, "8m"), "tmpfs could not be mounted: the disk-full test needs root");
        output.WriteLine($"tmpfs mounted at {_fixture.Directory}");

        try
        {
            await using var store = await _fixture.OpenAsync();
            var stored = new List<string>();
            var failures = 0;
            for (var i = 0; i < 30 && failures < SsdStoreFailureLimit; i++)
            {
                var path = StoreFixture.SegmentPath(i);
                if (await StoreFixture.PutAsync(store, path, StoreFixture.Body(1 << 20, i)))
                {
                    stored.Add(path);
                }
                else
                {
                    failures++;
                }
            }

            Assert.NotEmpty(stored);
            Assert.Equal(SsdStoreFailureLimit, failures);
            Assert.False(store.IsHealthy);
            Assert.Equal(failures, store.WriteFailures);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(_fixture.Directory, "tmp")));

            // Unknown length, streamed in 256 KiB chunks: the failure comes from a write, the commit reports it.
            await using (var writer = store.BeginWrite(StoreFixture.Hash("/v/abc/big.mp4"), "/v/abc/big.mp4", -1, "video/mp4", "", DateTimeOffset.UnixEpoch))
            {
                var chunk = StoreFixture.Body(256 << 10, 1);
                for (var i = 0; i < 40; i++)
                {
                    await writer.AppendAsync(chunk);
                }

                Assert.False(await writer.CommitAsync());
            }

            Assert.Equal(failures + 1, store.WriteFailures);

            // What was stored is still served, and freeing space makes the store healthy again.
            Assert.True(store.TryOpen(StoreFixture.Hash(stored[0]), stored[0], out var obj));
            obj.Dispose();
            Assert.True(store.Remove(StoreFixture.Hash(stored[0])));
            Assert.True(store.Remove(StoreFixture.Hash(stored[1])));
            Assert.True(await StoreFixture.PutAsync(store, "/v/abc/720p/after.m4s", StoreFixture.Body(100_000, 99)));
            Assert.True(store.IsHealthy);
        }
        finally
        {
            Unmount(_fixture.Directory);
        }
    }

    [Fact]
    public async Task An_unusable_directory_fails_commits_quietly()
    {
        await using var store = await _fixture.OpenAsync();
        var tmp = Path.Combine(_fixture.Directory, "tmp");
        Directory.Delete(tmp);
        await File.WriteAllTextAsync(tmp, "not a directory");

        for (var i = 0; i < 3; i++)
        {
            Assert.False(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), StoreFixture.Body(10_000, i)));
        }

        Assert.False(store.IsHealthy);
        Assert.Equal(3, store.WriteFailures);
        Assert.Equal(0, store.Count);

        File.Delete(tmp);
        Directory.CreateDirectory(tmp);
        Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(9), StoreFixture.Body(10_000, 9)));
        Assert.True(store.IsHealthy);
    }

    [Fact]
    public async Task A_vanished_fan_out_directory_is_recreated()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00001.m4s";
        Assert.True(await StoreFixture.PutAsync(store, path, StoreFixture.Body(1000, 1)));
        Assert.True(store.Remove(StoreFixture.Hash(path)));
        Directory.Delete(Path.GetDirectoryName(_fixture.ObjectFile(path))!, recursive: true);

        Assert.True(await StoreFixture.PutAsync(store, path, StoreFixture.Body(1000, 1)));
        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var obj));
        obj.Dispose();
    }

    private static bool TryMountTmpfs(string directory, string size) =>
        Run("mount", $"-t tmpfs -o size={size} tmpfs {directory}");

    private static void Unmount(string directory) => Run("umount", directory);

    private static bool Run(string command, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true });
            process!.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    public void Dispose() => _fixture.Dispose();
}
