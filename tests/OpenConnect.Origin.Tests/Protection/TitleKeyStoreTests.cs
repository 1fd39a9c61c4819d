using Microsoft.Data.Sqlite;
using OpenConnect.Origin.Protection;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Protection;

/// <summary>Title keys are stored only wrapped, come back intact, and refuse to unwrap when moved, altered or under another KEK.</summary>
public sealed class TitleKeyStoreTests
{
    [Fact]
    public void GetOrCreate_RoundTrips_AcrossReopen()
    {
        using var dir = new TempDirectory();
        TitleKey first;
        using (var store = OpenStore(dir))
        {
            Assert.False(store.TryGet("t1", out _));
            first = store.GetOrCreate("t1");
            Assert.Equal(16, first.KeyId.Length);
            Assert.Equal(16, first.Key.Length);
            Assert.NotEqual(first.KeyId, first.Key);
            Assert.True(store.TryGet("t1", out var again));
            Assert.Equal(first, again, TitleKeyComparer.Instance);
            Assert.Equal(first, store.GetOrCreate("t1"), TitleKeyComparer.Instance);

            var other = store.GetOrCreate("t2");
            Assert.NotEqual(first.KeyId, other.KeyId);
            Assert.NotEqual(first.Key, other.Key);
            Assert.Equal(2, store.Count());
        }

        using var reopened = OpenStore(dir);
        Assert.True(reopened.TryGet("t1", out var loaded));
        Assert.Equal(first, loaded, TitleKeyComparer.Instance);
        Assert.Equal(32, loaded.KeyIdHex.Length);
        Assert.Equal(first.KeyIdHex, loaded.KeyIdUuid.Replace("-", "", StringComparison.Ordinal));
    }

    [Fact]
    public void TheDatabaseFiles_NeverHoldAPlainKey()
    {
        using var dir = new TempDirectory();
        var keys = new List<TitleKey>();
        using (var store = OpenStore(dir))
        {
            for (var i = 0; i < 20; i++)
            {
                keys.Add(store.GetOrCreate($"title-{i}"));
            }

            // While open (WAL not yet checkpointed) and after close (checkpointed into keys.db).
            AssertNoPlainKey(dir, keys);
        }

        AssertNoPlainKey(dir, keys);
        Assert.True(new FileInfo(dir.Combine("keys.db")).Length > 0);
    }

    [Fact]
    public void AnAlteredRow_FailsClearly()
    {
        using var dir = new TempDirectory();
        using var store = OpenStore(dir);
        store.GetOrCreate("t1");
        var wrapped = Query(dir, "SELECT wrapped_key FROM title_keys WHERE title_id = 't1'");
        wrapped[20] ^= 0x01;
        Execute(dir, "UPDATE title_keys SET wrapped_key = $w WHERE title_id = 't1'", wrapped);
        var failure = Assert.Throws<TitleKeyUnavailableException>(() => store.TryGet("t1", out _));
        Assert.Contains("'t1'", failure.Message);
        Assert.Contains("does not unwrap", failure.Message);
        Assert.Throws<TitleKeyUnavailableException>(() => store.GetOrCreate("t1"));

        Execute(dir, "UPDATE title_keys SET wrapped_key = 'text' WHERE title_id = 't1'");
        Assert.Contains("damaged", Assert.Throws<TitleKeyUnavailableException>(() => store.TryGet("t1", out _)).Message);
    }

    [Fact]
    public void AWrappedKeyMovedToAnotherTitle_DoesNotUnwrap()
    {
        using var dir = new TempDirectory();
        using var store = OpenStore(dir);
        var t1 = store.GetOrCreate("t1");
        store.GetOrCreate("t2");

        // Give t2 the wrapped key of t1 (its kid too, so only the title id differs in the associated data).
        Execute(dir, "DELETE FROM title_keys WHERE title_id = 't2'; UPDATE title_keys SET title_id = 't2' WHERE title_id = 't1'");
        var failure = Assert.Throws<TitleKeyUnavailableException>(() => store.TryGet("t2", out _));
        Assert.Contains("copied from another title", failure.Message);
        Assert.False(store.TryGet("t1", out _));

        // Moving it back restores it: the failure was the binding, not damage.
        Execute(dir, "UPDATE title_keys SET title_id = 't1' WHERE title_id = 't2'");
        Assert.True(store.TryGet("t1", out var back));
        Assert.Equal(t1, back, TitleKeyComparer.Instance);
    }

    [Fact]
    public void AnotherKek_CannotUnwrap_AndSaysWhichKekIsNeeded()
    {
        using var dir = new TempDirectory();
        string firstKekId;
        using (var store = OpenStore(dir))
        {
            store.GetOrCreate("t1");
            firstKekId = store.KeyEncryptionKeyId;
        }

        using var other = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.Generate(), TimeProvider.System);
        var failure = Assert.Throws<TitleKeyUnavailableException>(() => other.TryGet("t1", out _));
        Assert.Contains(firstKekId, failure.Message);
        Assert.Contains(other.KeyEncryptionKeyId, failure.Message);

        // Even with the row relabelled to claim the new KEK, the tag does not verify.
        Execute(dir, $"UPDATE title_keys SET kek_id = '{other.KeyEncryptionKeyId}'");
        failure = Assert.Throws<TitleKeyUnavailableException>(() => other.TryGet("t1", out _));
        Assert.Contains("does not unwrap", failure.Message);
    }

    [Fact]
    public async Task ConcurrentGetOrCreate_GivesEveryCallerTheSameKey()
    {
        using var dir = new TempDirectory();
        using var store = OpenStore(dir);

        // A second store on the same files stands for a second process.
        using var second = new TitleKeyStore(dir.Combine("keys.db"), KeyEncryptionKey.LoadOrCreate(dir.Combine("keys", "content-kek.key")), TimeProvider.System);
        using var start = new Barrier(16);
        // Own threads (LongRunning): sixteen pool threads blocked at the barrier would wait for the pool to grow.
        var tasks = Enumerable.Range(0, 16).Select(i => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                return (i % 2 == 0 ? store : second).GetOrCreate("shared");
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        var keys = await Task.WhenAll(tasks);

        Assert.All(keys, key => Assert.Equal(keys[0], key, TitleKeyComparer.Instance));
        Assert.Equal(1, store.Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData("../t1")]
    [InlineData("t 1")]
    public void BadTitleIds_AreRejected(string titleId)
    {
        using var dir = new TempDirectory();
        using var store = OpenStore(dir);
        Assert.Throws<ArgumentException>(() => store.GetOrCreate(titleId));
        Assert.False(store.TryGet(titleId, out _));
    }

    private static TitleKeyStore OpenStore(TempDirectory dir) =>
        new(dir.Combine("keys.db"), KeyEncryptionKey.LoadOrCreate(dir.Combine("keys", "content-kek.key")), TimeProvider.System);

    private static void Execute(TempDirectory dir, string sql, byte[]? blob = null)
    {
        using var connection = new SqliteConnection($"Data Source={dir.Combine("keys.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (blob is not null)
        {
            command.Parameters.AddWithValue("$w", blob);
        }

        command.ExecuteNonQuery();
    }

    private static byte[] Query(TempDirectory dir, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={dir.Combine("keys.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (byte[])command.ExecuteScalar()!;
    }

    private static void AssertNoPlainKey(TempDirectory dir, List<TitleKey> keys)
    {
        var files = Directory.GetFiles(dir.Path, "keys.db*");
        Assert.Contains(files, f => f.EndsWith("keys.db", StringComparison.Ordinal));
        var contents = files.Select(file =>
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return (Name: Path.GetFileName(file), Bytes: copy.ToArray());
        }).ToList();

        foreach (var key in keys)
        {
            foreach (var (name, bytes) in contents)
            {
                Assert.True(bytes.AsSpan().IndexOf(key.Key) < 0, $"{name} holds the plain key of kid {key.KeyIdHex}");
            }

            // The control: the key ids are stored in the clear, so the scan does see the rows.
            Assert.Contains(contents, c => c.Bytes.AsSpan().IndexOf(key.KeyId) >= 0);
        }
    }
}

/// <summary>Compares title keys by their bytes (records compare arrays by reference).</summary>
internal sealed class TitleKeyComparer : IEqualityComparer<TitleKey>
{
    public static TitleKeyComparer Instance { get; } = new();

    public bool Equals(TitleKey? x, TitleKey? y) =>
        x is not null && y is not null && x.KeyId.AsSpan().SequenceEqual(y.KeyId) && x.Key.AsSpan().SequenceEqual(y.Key);

    public int GetHashCode(TitleKey obj) => BitConverter.ToInt32(obj.KeyId);
}
