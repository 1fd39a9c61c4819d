using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Catalog;

public sealed record UserView(string Id, string Name, string Role, string? ChannelId, DateTimeOffset CreatedAt);

public sealed record LoginResult(string Token, DateTimeOffset ExpiresAt, UserView User);

/// <summary>
/// Users, password hashes and bearer tokens. A token is 256 random bits, handed out once and kept
/// only as its SHA-256, with an expiry; uploaders get a channel of their own on registration.
/// </summary>
public sealed class AccountStore : IAccessTokens
{
    public const string AdminName = "admin";

    private readonly CatalogDatabase _database;
    private readonly CatalogOptions _options;
    private readonly TimeProvider _time;
    private readonly string _dummyHash;

    public AccountStore(CatalogDatabase database, IOptions<OriginOptions> options, TimeProvider time)
    {
        _database = database;
        _options = options.Value.Catalog;
        _time = time;
        _dummyHash = PasswordHasher.Hash("not a password", _options.PasswordIterations);
    }

    public static string? CheckName(string? name) =>
        name is null || name.Length is < 3 or > 32 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            ? "name must be 3..32 characters of [A-Za-z0-9_.-]"
            : null;

    public static string? CheckPassword(string? password) =>
        password is null || password.Length is < 8 or > 256 ? "password must be 8..256 characters" : null;

    /// <summary>Creates a user (and an uploader's channel); null when the name is taken.</summary>
    public async Task<UserView?> RegisterAsync(string name, string password, UserRole role, CancellationToken ct)
    {
        var hash = await Task.Run(() => PasswordHasher.Hash(password, _options.PasswordIterations), ct);
        var now = _time.GetUtcNow();
        return await _database.WriteAsync((connection, transaction) =>
        {
            using (var exists = connection.Command("SELECT 1 FROM users WHERE name = $n;", transaction).With("$n", name))
            {
                if (exists.ExecuteScalar() is not null)
                {
                    return null;
                }
            }

            var id = NewId();
            using (var insert = connection.Command("INSERT INTO users (id, name, password_hash, role, created_at) VALUES ($id, $n, $h, $r, $t);", transaction))
            {
                insert.With("$id", id).With("$n", name).With("$h", hash).With("$r", UserRoles.ToWire(role)).With("$t", now.ToUnixTimeMilliseconds()).ExecuteNonQuery();
            }

            string? channelId = null;
            if (role >= UserRole.Uploader)
            {
                channelId = ChannelStore.Insert(connection, transaction, id, name, "", now);
            }

            return new UserView(id, name, UserRoles.ToWire(role), channelId, now);
        }, ct);
    }

    /// <summary>A new token for valid credentials, else null. Unknown names cost the same hashing time as wrong passwords.</summary>
    public async Task<LoginResult?> LoginAsync(string name, string password, CancellationToken ct)
    {
        string? id = null, storedHash = null, role = null;
        long created = 0;
        using (var connection = _database.Open())
        using (var command = connection.Command("SELECT id, password_hash, role, created_at, name FROM users WHERE name = $n;").With("$n", name))
        using (var reader = command.ExecuteReader())
        {
            if (reader.Read())
            {
                id = reader.GetString(0);
                storedHash = reader.GetString(1);
                role = reader.GetString(2);
                created = reader.GetInt64(3);
                name = reader.GetString(4);
            }
        }

        var ok = await Task.Run(() => PasswordHasher.Verify(password, storedHash ?? _dummyHash), ct);
        if (!ok || id is null)
        {
            return null;
        }

        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        var expires = _time.GetUtcNow() + _options.TokenLifetime;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await _database.WriteAsync((connection, transaction) =>
        {
            using var insert = connection.Command("INSERT INTO tokens (hash, user_id, expires_at) VALUES ($h, $u, $e); DELETE FROM tokens WHERE expires_at < $now;", transaction);
            return insert.With("$h", TokenHash(token)).With("$u", id).With("$e", expires.ToUnixTimeMilliseconds()).With("$now", now).ExecuteNonQuery();
        }, ct);
        var user = new UserView(id, name, role!, ChannelOf(id), DateTimeOffset.FromUnixTimeMilliseconds(created));
        return new LoginResult(token, expires, user);
    }

    public Task LogoutAsync(string token, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var delete = connection.Command("DELETE FROM tokens WHERE hash = $h;", transaction);
            return delete.With("$h", TokenHash(token)).ExecuteNonQuery();
        }, ct);

    public Task<AccessGrant?> ValidateAsync(string token, CancellationToken ct)
    {
        _ = ct;
        if (token.Length is 0 or > 128)
        {
            return Task.FromResult<AccessGrant?>(null);
        }

        using var connection = _database.Open();
        using var command = connection.Command(
            "SELECT u.id, u.name, u.role FROM tokens k JOIN users u ON u.id = k.user_id WHERE k.hash = $h AND k.expires_at > $now;")
            .With("$h", TokenHash(token)).With("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        using var reader = command.ExecuteReader();
        if (!reader.Read() || !UserRoles.TryParse(reader.GetString(2), out var role))
        {
            return Task.FromResult<AccessGrant?>(null);
        }

        return Task.FromResult<AccessGrant?>(new AccessGrant(reader.GetString(0), reader.GetString(1), role));
    }

    public UserView? Get(string userId)
    {
        using var connection = _database.Open();
        using var command = connection.Command("SELECT id, name, role, created_at FROM users WHERE id = $id;").With("$id", userId);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new UserView(reader.GetString(0), reader.GetString(1), reader.GetString(2), ChannelOf(userId), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null;
    }

    /// <summary>Admin: changes a user's role; false when the user is unknown.</summary>
    public Task<bool> SetRoleAsync(string userId, UserRole role, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command("UPDATE users SET role = $r WHERE id = $id;", transaction).With("$r", UserRoles.ToWire(role)).With("$id", userId);
            if (update.ExecuteNonQuery() == 0)
            {
                return false;
            }

            if (role >= UserRole.Uploader && ChannelOf(connection, transaction, userId) is null)
            {
                using var name = connection.Command("SELECT name FROM users WHERE id = $id;", transaction).With("$id", userId);
                ChannelStore.Insert(connection, transaction, userId, (string)name.ExecuteScalar()!, "", _time.GetUtcNow());
            }

            return true;
        }, ct);

    /// <summary>Creates or updates the built-in admin account from <c>Origin:Catalog:AdminPasswordFile</c>.</summary>
    public async Task ProvisionAdminAsync(CancellationToken ct)
    {
        if (_options.AdminPasswordFile.Length == 0)
        {
            return;
        }

        var password = (await File.ReadAllTextAsync(_options.AdminPasswordFile, ct)).Trim();
        if (CheckPassword(password) is { } problem)
        {
            throw new InvalidOperationException($"Origin:Catalog:AdminPasswordFile: {problem}");
        }

        if (await RegisterAsync(AdminName, password, UserRole.Admin, ct) is not null)
        {
            return;
        }

        var hash = PasswordHasher.Hash(password, _options.PasswordIterations);
        await _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command("UPDATE users SET password_hash = $h, role = 'admin' WHERE name = $n;", transaction).With("$h", hash).With("$n", AdminName);
            return update.ExecuteNonQuery();
        }, ct);
    }

    internal static string NewId() => Base64Url(RandomNumberGenerator.GetBytes(12));

    private string? ChannelOf(string userId)
    {
        using var connection = _database.Open();
        return ChannelOf(connection, null, userId);
    }

    private static string? ChannelOf(SqliteConnection connection, SqliteTransaction? transaction, string userId)
    {
        using var command = connection.Command("SELECT id FROM channels WHERE owner_id = $u ORDER BY created_at LIMIT 1;", transaction).With("$u", userId);
        return command.ExecuteScalar() as string;
    }

    private static byte[] TokenHash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
