using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Protection;

/// <summary>
/// Title keys in their own SQLite database (<c>{DataDirectory}/keys.db</c>, WAL, <c>synchronous=FULL</c>),
/// each stored only wrapped: AES-256-GCM under the <see cref="KeyEncryptionKey"/> with the title id and
/// key id as associated data, so a wrapped key copied into another row does not unwrap. Each row names
/// the KEK that wrapped it (<c>kek_id</c>): new keys are wrapped under the current KEK, rows under a
/// previous KEK still unwrap, and <see cref="RewrapToCurrent"/> moves them to the current one (a KEK
/// rotation). The schema is versioned with <c>PRAGMA user_version</c> and migrated forward on open.
/// </summary>
public sealed class TitleKeyStore : ITitleKeys, IDisposable
{
    public const int KeyLength = 16;

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE title_keys (
            title_id TEXT PRIMARY KEY,
            kid BLOB NOT NULL UNIQUE CHECK (length(kid) = 16),
            kek_id TEXT NOT NULL,
            wrapped_key BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX title_keys_kek ON title_keys(kek_id);
        """,
    ];

    private static readonly byte[] AssociatedDataLabel = "openconnect title key v1\0"u8.ToArray();

    private readonly string _connectionString;
    private readonly KeyEncryptionKey _kek;
    private readonly Dictionary<string, KeyEncryptionKey> _keks;
    private readonly TimeProvider _time;
    private readonly Lock _createLock = new();

    /// <param name="databasePath">The SQLite file (created when missing).</param>
    /// <param name="kek">The key-encryption key; the store owns it from here on.</param>
    /// <param name="time">Clock for the rows' creation time.</param>
    public TitleKeyStore(string databasePath, KeyEncryptionKey kek, TimeProvider time)
        : this(databasePath, kek, [], time)
    {
    }

    /// <param name="databasePath">The SQLite file (created when missing).</param>
    /// <param name="kek">The current key-encryption key: new keys are wrapped under it. The store owns it from here on.</param>
    /// <param name="previous">Earlier KEKs whose rows still unwrap until <see cref="RewrapToCurrent"/> moves them; owned by the store too.</param>
    /// <param name="time">Clock for the rows' creation time.</param>
    public TitleKeyStore(string databasePath, KeyEncryptionKey kek, IReadOnlyList<KeyEncryptionKey> previous, TimeProvider time)
    {
        _kek = kek;
        _keks = new Dictionary<string, KeyEncryptionKey>(StringComparer.Ordinal) { [kek.Id] = kek };
        foreach (var old in previous)
        {
            _keks.TryAdd(old.Id, old);
        }

        _time = time;
        FilePath = databasePath;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
        using var connection = Open();
        SqliteSchema.Execute(connection, "PRAGMA journal_mode=WAL;");
        SqliteSchema.Migrate(connection, Migrations, "keys.db");
    }

    public static int SchemaVersion => Migrations.Length;

    public string FilePath { get; }

    /// <summary>The id of the KEK new keys are wrapped under.</summary>
    public string KeyEncryptionKeyId => _kek.Id;

    /// <summary>Raised with the title id and its key after a new title key is stored (durably).</summary>
    public event Action<string, TitleKey>? Created;

    public TitleKey GetOrCreate(string titleId)
    {
        RequireTitleId(titleId);
        using var connection = Open();
        var stored = Read(connection, null, titleId);
        if (stored is not null)
        {
            return stored;
        }

        // One creator at a time in this process, so threads do not spin in SQLite's busy handler.
        using var scope = _createLock.EnterScope();

        // BEGIN IMMEDIATE takes the write lock first: of two racing callers (threads or processes) the
        // second reads the row the first committed instead of inserting its own.
        using var transaction = connection.BeginTransaction(deferred: false);
        var existing = Read(connection, transaction, titleId);
        if (existing is not null)
        {
            transaction.Commit();
            return existing;
        }

        var key = new TitleKey(RandomNumberGenerator.GetBytes(KeyLength), RandomNumberGenerator.GetBytes(KeyLength));
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO title_keys (title_id, kid, kek_id, wrapped_key, created_at) VALUES ($t, $kid, $kek, $w, $now)";
        insert.Parameters.AddWithValue("$t", titleId);
        insert.Parameters.AddWithValue("$kid", key.KeyId);
        insert.Parameters.AddWithValue("$kek", _kek.Id);
        insert.Parameters.AddWithValue("$w", _kek.Wrap(key.Key, AssociatedData(titleId, key.KeyId)));
        insert.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        insert.ExecuteNonQuery();

        // synchronous=FULL: the commit is on disk when it returns.
        transaction.Commit();
        Created?.Invoke(titleId, key);
        return key;
    }

    public bool TryGet(string titleId, out TitleKey key)
    {
        key = null!;
        if (!ContentKey.IsValidTitleId(titleId))
        {
            return false;
        }

        using var connection = Open();
        var found = Read(connection, null, titleId);
        if (found is null)
        {
            return false;
        }

        key = found;
        return true;
    }

    /// <summary>Title keys stored (all titles, whichever KEK wrapped them).</summary>
    public long Count()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM title_keys";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Rewraps every key stored under a previous KEK under the current one, a batch of rows per
    /// transaction (a crash leaves each row under the old or the new KEK, and both unwrap). Rows under a
    /// KEK this store was not given are left as they are and counted.
    /// </summary>
    public RewrapResult RewrapToCurrent()
    {
        const int batch = 256;
        var rewrapped = 0;
        var unknown = new Dictionary<string, int>(StringComparer.Ordinal);
        var damaged = new List<string>();
        var after = "";
        while (true)
        {
            var last = after;
            using var scope = _createLock.EnterScope();
            using var connection = Open();
            using var transaction = connection.BeginTransaction(deferred: false);
            var rows = new List<(string TitleId, byte[] Kid, string KekId, byte[] Wrapped)>(batch);
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT title_id, kid, kek_id, wrapped_key FROM title_keys WHERE kek_id <> $kek AND title_id > $after ORDER BY title_id LIMIT $n";
                select.Parameters.AddWithValue("$kek", _kek.Id);
                select.Parameters.AddWithValue("$after", after);
                select.Parameters.AddWithValue("$n", batch);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    var titleId = reader.GetString(0);
                    if (reader.GetValue(1) is byte[] kid && reader.GetValue(2) is string kekId && reader.GetValue(3) is byte[] wrapped)
                    {
                        rows.Add((titleId, kid, kekId, wrapped));
                    }
                    else
                    {
                        damaged.Add(titleId);
                    }

                    after = titleId;
                }
            }

            if (rows.Count == 0 && after == last)
            {
                transaction.Commit();
                return new RewrapResult(rewrapped, unknown, damaged);
            }

            foreach (var (titleId, kid, kekId, wrapped) in rows)
            {
                if (!_keks.TryGetValue(kekId, out var old))
                {
                    unknown[kekId] = unknown.GetValueOrDefault(kekId) + 1;
                    continue;
                }

                var associatedData = AssociatedData(titleId, kid);
                if (!old.TryUnwrap(wrapped, associatedData, out var plain))
                {
                    // Left as it is: reading it fails with the reason; one bad row does not stop the rotation.
                    damaged.Add(titleId);
                    continue;
                }

                using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE title_keys SET kek_id = $new, wrapped_key = $w WHERE title_id = $t AND kek_id = $old";
                update.Parameters.AddWithValue("$new", _kek.Id);
                update.Parameters.AddWithValue("$w", _kek.Wrap(plain, associatedData));
                update.Parameters.AddWithValue("$t", titleId);
                update.Parameters.AddWithValue("$old", kekId);
                rewrapped += update.ExecuteNonQuery();
                CryptographicOperations.ZeroMemory(plain);
            }

            transaction.Commit();
        }
    }

    /// <summary>Stored keys by the id of the KEK that wrapped them.</summary>
    public IReadOnlyDictionary<string, long> CountByKek()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT kek_id, count(*) FROM title_keys GROUP BY kek_id";
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    public void Dispose()
    {
        foreach (var kek in _keks.Values)
        {
            kek.Dispose();
        }

        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }

    /// <summary>The associated data a title's wrapped key is bound to: a label, the key id, then the title id.</summary>
    internal static byte[] AssociatedData(string titleId, ReadOnlySpan<byte> keyId)
    {
        var title = Encoding.UTF8.GetBytes(titleId);
        var data = new byte[AssociatedDataLabel.Length + keyId.Length + title.Length];
        AssociatedDataLabel.CopyTo(data, 0);
        keyId.CopyTo(data.AsSpan(AssociatedDataLabel.Length));
        title.CopyTo(data, AssociatedDataLabel.Length + keyId.Length);
        return data;
    }

    private TitleKey? Read(SqliteConnection connection, SqliteTransaction? transaction, string titleId)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT kid, kek_id, wrapped_key FROM title_keys WHERE title_id = $t";
        command.Parameters.AddWithValue("$t", titleId);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        if (reader.GetValue(0) is not byte[] kid || reader.GetValue(2) is not byte[] wrapped || reader.GetValue(1) is not string kekId)
        {
            throw new TitleKeyUnavailableException($"the key row of title '{titleId}' in {FilePath} is damaged: kid, kek_id or wrapped_key has the wrong type");
        }

        if (!_keks.TryGetValue(kekId, out var kek))
        {
            throw new TitleKeyUnavailableException($"the key of title '{titleId}' is wrapped under key-encryption key {kekId}, but the loaded key-encryption keys are {string.Join(", ", _keks.Keys)} (wrong Origin:Protection:KeyEncryptionKeyFile, or a previous KEK missing from PreviousKeyEncryptionKeyFiles)");
        }

        if (!kek.TryUnwrap(wrapped, AssociatedData(titleId, kid), out var plain) || plain.Length != KeyLength)
        {
            throw new TitleKeyUnavailableException($"the key of title '{titleId}' (kid {Convert.ToHexStringLower(kid)}) does not unwrap under key-encryption key {kek.Id}: its row in {FilePath} was altered or copied from another title");
        }

        return new TitleKey(kid, plain);
    }

    private static void RequireTitleId(string titleId)
    {
        if (!ContentKey.IsValidTitleId(titleId))
        {
            throw new ArgumentException($"'{titleId}' is not a valid title id ([A-Za-z0-9_-], 1..{ContentKey.MaxTitleIdLength})", nameof(titleId));
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        SqliteSchema.Execute(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
        return connection;
    }


}

/// <summary>
/// What <see cref="TitleKeyStore.RewrapToCurrent"/> did: rows moved to the current KEK, rows left under
/// KEKs it does not hold (count by KEK id), and titles whose rows did not unwrap (left as they were).
/// </summary>
public sealed record RewrapResult(int Rewrapped, IReadOnlyDictionary<string, int> LeftUnderUnknownKeks, IReadOnlyList<string> Damaged)
{
    public int Left => LeftUnderUnknownKeks.Values.Sum() + Damaged.Count;
}

/// <summary>A stored title key cannot be recovered: its row was altered or moved, or another KEK is loaded.</summary>
public sealed class TitleKeyUnavailableException(string message) : Exception(message);
