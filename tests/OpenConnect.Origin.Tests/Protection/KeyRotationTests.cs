using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Hosting;
using OpenConnect.Origin.Protection;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Protection;

/// <summary>A KEK rotation: keys under a previous KEK keep unwrapping and are rewrapped under the current one.</summary>
public sealed class KeyRotationTests
{
    [Fact]
    public void RewrapToCurrent_MovesEveryKey_AndThePreviousKekIsNoLongerNeeded()
    {
        using var dir = new TempDirectory();
        var oldFile = dir.Combine("old.key");
        var newFile = dir.Combine("new.key");
        var created = new Dictionary<string, TitleKey>();
        string oldId;
        using (var store = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.LoadOrCreate(oldFile), TimeProvider.System))
        {
            oldId = store.KeyEncryptionKeyId;
            for (var i = 0; i < 300; i++)
            {
                created[$"t{i}"] = store.GetOrCreate($"t{i}");
            }
        }

        using (var rotating = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.LoadOrCreate(newFile), [KeyEncryptionKey.Load(oldFile)], TimeProvider.System))
        {
            // Before the rewrap: old rows still unwrap, new keys go under the new KEK.
            Assert.True(rotating.TryGet("t7", out var before));
            Assert.Equal(created["t7"], before, TitleKeyComparer.Instance);
            created["fresh"] = rotating.GetOrCreate("fresh");

            var result = rotating.RewrapToCurrent();
            Assert.Equal(300, result.Rewrapped);
            Assert.Equal(0, result.Left);
            Assert.Equal(new Dictionary<string, long> { [rotating.KeyEncryptionKeyId] = 301 }, rotating.CountByKek());
            Assert.Equal(0, rotating.RewrapToCurrent().Rewrapped);
        }

        using (var rotated = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.Load(newFile), TimeProvider.System))
        {
            foreach (var (titleId, key) in created)
            {
                Assert.True(rotated.TryGet(titleId, out var loaded));
                Assert.Equal(key, loaded, TitleKeyComparer.Instance);
            }
        }

        // The old KEK alone opens nothing any more.
        using var stale = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.Load(oldFile), TimeProvider.System);
        Assert.Contains(oldId, Assert.Throws<TitleKeyUnavailableException>(() => stale.TryGet("t7", out _)).Message);
    }

    [Fact]
    public void RowsUnderAnUnknownKek_OrDamaged_AreLeftAndCounted()
    {
        using var dir = new TempDirectory();
        using (var first = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.Generate(), TimeProvider.System))
        {
            first.GetOrCreate("lost1");
            first.GetOrCreate("lost2");
        }

        var previous = KeyEncryptionKey.LoadOrCreate(dir.Combine("previous.key"));
        using (var second = new TitleKeyStore(dir.Combine("keys.db"), previous, TimeProvider.System))
        {
            second.GetOrCreate("kept");
            second.GetOrCreate("broken");
        }

        using (var connection = new SqliteConnection($"Data Source={dir.Combine("keys.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE title_keys SET wrapped_key = zeroblob(44) WHERE title_id = 'broken'";
            command.ExecuteNonQuery();
        }

        using var store = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.Generate(), [KeyEncryptionKey.Load(dir.Combine("previous.key"))], TimeProvider.System);
        var result = store.RewrapToCurrent();
        Assert.Equal(1, result.Rewrapped);
        Assert.Equal(2, Assert.Single(result.LeftUnderUnknownKeks).Value);
        Assert.Equal(["broken"], result.Damaged);
        Assert.True(store.TryGet("kept", out _));
        Assert.Throws<TitleKeyUnavailableException>(() => store.TryGet("lost1", out _));
        Assert.Throws<TitleKeyUnavailableException>(() => store.TryGet("broken", out _));
    }

    [Fact]
    public async Task TheOrigin_RotatesAtStart_WithThePreviousKekConfigured()
    {
        using var dir = new TempDirectory();
        var oldFile = dir.Combine("keys", "content-kek.key");
        var newFile = dir.Combine("keys", "content-kek-2.key");
        TitleKey created;
        await using (var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}"))
        {
            created = origin.Services.GetRequiredService<ITitleKeys>().GetOrCreate("t1");
        }

        await using (var rotating = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", $"--Origin:Protection:KeyEncryptionKeyFile={newFile}", $"--Origin:Protection:PreviousKeyEncryptionKeyFiles:0={oldFile}"))
        {
            var store = rotating.Services.GetRequiredService<TitleKeyStore>();
            Assert.Equal([store.KeyEncryptionKeyId], store.CountByKek().Keys);
        }

        // Only the new KEK from here on; the old file can go.
        File.Delete(oldFile);
        await using var rotated = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", $"--Origin:Protection:KeyEncryptionKeyFile={newFile}");
        Assert.True(rotated.Services.GetRequiredService<ITitleKeys>().TryGet("t1", out var loaded));
        Assert.Equal(created, loaded, TitleKeyComparer.Instance);
    }

    [Fact]
    public async Task AMissingPreviousKek_StopsTheOrigin_NamingTheSetting()
    {
        using var dir = new TempDirectory();
        var missing = dir.Combine("gone.key");
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", $"--Origin:Protection:PreviousKeyEncryptionKeyFiles:0={missing}"));
        var message = RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:Protection:PreviousKeyEncryptionKeyFiles:0", message);
        Assert.Contains("must name an existing key-encryption key file", message);
    }
}
