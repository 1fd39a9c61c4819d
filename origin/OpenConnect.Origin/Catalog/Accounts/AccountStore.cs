using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Catalog.Social;

namespace OpenConnect.Origin.Catalog.Accounts;

public sealed record UserView(string Id, string Name, string Role, string? ChannelId, DateTimeOffset CreatedAt);

public sealed record LoginResult(string Token, DateTimeOffset ExpiresAt, UserView User);

public enum LoginStatus
{
    /// <summary>Right name and password: <see cref="LoginAttempt.Result"/> holds the new token.</summary>
    Ok,

    /// <summary>Unknown name or wrong password.</summary>
    Wrong,

    /// <summary>The name failed too often: no password was checked; retry after <see cref="LoginAttempt.RetryAfter"/>.</summary>
    BackedOff,

    /// <summary>Every password-hash slot and queue place is taken; retry after <see cref="LoginAttempt.RetryAfter"/>.</summary>
    Busy,
}

public sealed record LoginAttempt(LoginStatus Status, LoginResult? Result, TimeSpan RetryAfter);

public enum RegistrationStatus
{
    Created,
    NameTaken,

    /// <summary>The invite code is unknown, spent, revoked or expired.</summary>
    InviteNotOpen,

    /// <summary>Every password-hash slot and queue place is taken.</summary>
    Busy,
}

public sealed record Registration(RegistrationStatus Status, UserView? User);

/// <summary>
/// Users, password hashes and bearer tokens. A token is 256 random bits, handed out once and kept
/// only as its SHA-256, with an expiry. Registering makes a viewer, or an uploader (with a channel)
/// when it spends an admin's invite code; a role change revokes the user's tokens, so no token
/// outlives the role it was issued under. Password hashes go through <see cref="PasswordHashGate"/>
/// and logins through the per-name <see cref="LoginBackoff"/>.
/// </summary>
public sealed partial class AccountStore : IAccessTokens
{
    public const string AdminName = "admin";

    private readonly CatalogDatabase _database;
    private readonly CatalogOptions _options;
    private readonly TimeProvider _time;
    private readonly PasswordHashGate _hashes;
    private readonly LoginBackoff _backoff;
    private readonly AccountMetrics _metrics;
    private readonly ILogger<AccountStore> _logger;
    private readonly string _dummyHash;

    public AccountStore(CatalogDatabase database, IOptions<OriginOptions> options, TimeProvider time, PasswordHashGate hashes, LoginBackoff backoff, AccountMetrics metrics, ILogger<AccountStore> logger)
    {
        _database = database;
        _options = options.Value.Catalog;
        _time = time;
        _hashes = hashes;
        _backoff = backoff;
        _metrics = metrics;
        _logger = logger;
        _dummyHash = PasswordHasher.Hash("not a password", _options.PasswordIterations);
    }

    public static string? CheckName(string? name) =>
        name is null || name.Length is < 3 or > 32 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            ? "name must be 3..32 characters of [A-Za-z0-9_.-]"
            : null;

    public static string? CheckPassword(string? password) =>
        password is null || password.Length is < 8 or > 256 ? "password must be 8..256 characters" : null;

    /// <summary>
    /// Creates a viewer, or an uploader with a channel when <paramref name="inviteCode"/> is an open
    /// invite (spent in the same transaction). Does not check reserved names: the endpoint does.
    /// </summary>
    public async Task<Registration> RegisterAsync(string name, string password, string? inviteCode, CancellationToken ct)
    {
        var (admitted, hash) = await _hashes.TryRunAsync(() => PasswordHasher.Hash(password, _options.PasswordIterations), ct);
        if (!admitted)
        {
            _metrics.Registrations.WithLabels("busy").Inc();
            return new Registration(RegistrationStatus.Busy, null);
        }

        var role = inviteCode is null ? UserRole.Viewer : UserRole.Uploader;
        var now = _time.GetUtcNow();
        var registration = await _database.WriteAsync((connection, transaction) =>
        {
            if (NameTaken(connection, transaction, _database.Dialect, name))
            {
                return new Registration(RegistrationStatus.NameTaken, null);
            }

            var id = NewId();
            if (inviteCode is not null && !InviteStore.TrySpend(connection, transaction, inviteCode, id, now))
            {
                return new Registration(RegistrationStatus.InviteNotOpen, null);
            }

            return new Registration(RegistrationStatus.Created, Insert(connection, transaction, id, name, hash, role, now));
        }, ct);
        _metrics.Registrations.WithLabels(registration.Status switch
        {
            RegistrationStatus.Created => registration.User!.Role,
            RegistrationStatus.NameTaken => "taken",
            _ => "invite_refused",
        }).Inc();
        return registration;
    }

    /// <summary>
    /// A new token for valid credentials. Unknown names cost the same hashing time as wrong passwords
    /// and are backed off the same way, so neither tells which names exist.
    /// </summary>
    public async Task<LoginAttempt> LoginAsync(string name, string password, CancellationToken ct)
    {
        var blocked = _backoff.Blocked(name);
        if (blocked > TimeSpan.Zero)
        {
            _metrics.Logins.WithLabels("backed_off").Inc();
            return new LoginAttempt(LoginStatus.BackedOff, null, blocked);
        }

        string? id = null, storedHash = null, role = null;
        long created = 0;
        using (var connection = _database.Open())
        using (var command = connection.Command($"SELECT id, password_hash, role, created_at, name FROM users WHERE {_database.Dialect.UserNameIs};").With("@n", name))
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

        var (admitted, ok) = await _hashes.TryRunAsync(() => PasswordHasher.Verify(password, storedHash ?? _dummyHash), ct);
        if (!admitted)
        {
            _metrics.Logins.WithLabels("busy").Inc();
            return new LoginAttempt(LoginStatus.Busy, null, TimeSpan.FromSeconds(1));
        }

        if (!ok || id is null)
        {
            _metrics.Logins.WithLabels("wrong").Inc();
            if (_backoff.Failed(name) is { Started: true } backoff)
            {
                LogBackedOff(name, backoff.Blocked);
            }

            return new LoginAttempt(LoginStatus.Wrong, null, TimeSpan.Zero);
        }

        _metrics.Logins.WithLabels("ok").Inc();
        _backoff.Succeeded(name);
        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        var expires = _time.GetUtcNow() + _options.TokenLifetime;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await _database.WriteAsync((connection, transaction) =>
        {
            using var insert = connection.Command("INSERT INTO tokens (hash, user_id, expires_at) VALUES (@h, @u, @e); DELETE FROM tokens WHERE expires_at < @now;", transaction);
            return insert.With("@h", TokenHash(token)).With("@u", id).With("@e", expires.ToUnixTimeMilliseconds()).With("@now", now).ExecuteNonQuery();
        }, ct);
        var user = new UserView(id, name, role!, ChannelOf(id), DateTimeOffset.FromUnixTimeMilliseconds(created));
        return new LoginAttempt(LoginStatus.Ok, new LoginResult(token, expires, user), TimeSpan.Zero);
    }

    public Task LogoutAsync(string token, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var delete = connection.Command("DELETE FROM tokens WHERE hash = @h;", transaction);
            return delete.With("@h", TokenHash(token)).ExecuteNonQuery();
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
            "SELECT u.id, u.name, u.role FROM tokens k JOIN users u ON u.id = k.user_id WHERE k.hash = @h AND k.expires_at > @now;")
            .With("@h", TokenHash(token)).With("@now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        using var reader = command.ExecuteReader();
        if (!reader.Read() || !UserRoles.TryParse(reader.GetString(2), out var role))
        {
            return Task.FromResult<AccessGrant?>(null);
        }

        return Task.FromResult<AccessGrant?>(new AccessGrant(reader.GetString(0), reader.GetString(1), role));
    }

    public Task<UserRole?> RoleOfAsync(string userId, CancellationToken ct)
    {
        _ = ct;
        using var connection = _database.Open();
        using var command = connection.Command("SELECT role FROM users WHERE id = @id;").With("@id", userId);
        return Task.FromResult<UserRole?>(command.ExecuteScalar() is string wire && UserRoles.TryParse(wire, out var role) ? role : null);
    }

    public UserView? Get(string userId)
    {
        using var connection = _database.Open();
        using var command = connection.Command("SELECT id, name, role, created_at FROM users WHERE id = @id;").With("@id", userId);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new UserView(reader.GetString(0), reader.GetString(1), reader.GetString(2), ChannelOf(userId), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null;
    }

    /// <summary>
    /// Admin: sets a user's role (an uploader gets a channel if it has none). A change revokes every
    /// token of the user, so sessions opened under the old role end. False when the user is unknown.
    /// </summary>
    public Task<bool> SetRoleAsync(string userId, UserRole role, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var read = connection.Command("SELECT name, role FROM users WHERE id = @id;", transaction).With("@id", userId);
            string name, current;
            using (var reader = read.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return false;
                }

                name = reader.GetString(0);
                current = reader.GetString(1);
            }

            if (current != UserRoles.ToWire(role))
            {
                using var update = connection.Command("UPDATE users SET role = @r WHERE id = @id;", transaction).With("@r", UserRoles.ToWire(role)).With("@id", userId);
                update.ExecuteNonQuery();
                RevokeTokens(connection, transaction, userId);
                LogRoleChanged(name, current, UserRoles.ToWire(role));
            }

            if (role >= UserRole.Uploader && ChannelOf(connection, transaction, userId) is null)
            {
                ChannelStore.Insert(connection, transaction, userId, name, "", _time.GetUtcNow());
            }

            return true;
        }, ct);

    /// <summary>
    /// Creates the built-in admin account from <c>Origin:Catalog:AdminPasswordFile</c>, or sets its
    /// password (revoking its tokens when the password changed). It never promotes an account: when
    /// the admin name belongs to a viewer or uploader (registered before reserved names existed), the
    /// start fails with an error naming that account, and the account and its tokens stay as they are.
    /// </summary>
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

        // Two instances starting together on one database may both find no admin: the one whose
        // insert loses reads the account the other made and goes on as if it had been there.
        for (var attempt = 0; ; attempt++)
        {
            if (await TryProvisionAdminAsync(password, lastAttempt: attempt == 1, ct))
            {
                return;
            }
        }
    }

    private async Task<bool> TryProvisionAdminAsync(string password, bool lastAttempt, CancellationToken ct)
    {
        string? id = null, role = null, storedHash = null;
        long created = 0;
        using (var connection = _database.Open())
        using (var command = connection.Command($"SELECT id, role, password_hash, created_at FROM users WHERE {_database.Dialect.UserNameIs};").With("@n", AdminName))
        using (var reader = command.ExecuteReader())
        {
            if (reader.Read())
            {
                id = reader.GetString(0);
                role = reader.GetString(1);
                storedHash = reader.GetString(2);
                created = reader.GetInt64(3);
            }
        }

        if (id is null)
        {
            var hash = await _hashes.RunAsync(() => PasswordHasher.Hash(password, _options.PasswordIterations), ct);
            var now = _time.GetUtcNow();
            var made = await _database.WriteAsync((connection, transaction) =>
                NameTaken(connection, transaction, _database.Dialect, AdminName) ? null : Insert(connection, transaction, NewId(), AdminName, hash, UserRole.Admin, now), ct);
            if (made is null)
            {
                return lastAttempt
                    ? throw new InvalidOperationException($"Origin:Catalog:AdminPasswordFile: the name '{AdminName}' was registered while the admin was being provisioned; start again")
                    : false;
            }

            LogAdminCreated(made.Id);
            return true;
        }

        if (role != UserRoles.ToWire(UserRole.Admin))
        {
            var since = DateTimeOffset.FromUnixTimeMilliseconds(created);
            LogAdminNameSquatted(id, role!, since);
            throw new InvalidOperationException(
                $"Origin:Catalog:AdminPasswordFile: the account named '{AdminName}' (id {id}, registered {since:u}) is a {role}, not the admin, " +
                $"and is not promoted. Rename or remove that account in the catalog ({_database.Location}) (for example " +
                $"UPDATE users SET name = 'squatted-{id}' WHERE id = '{id}'; DELETE FROM tokens WHERE user_id = '{id}';) and start again.");
        }

        if (await _hashes.RunAsync(() => PasswordHasher.Verify(password, storedHash!), ct))
        {
            return true;
        }

        var newHash = await _hashes.RunAsync(() => PasswordHasher.Hash(password, _options.PasswordIterations), ct);
        await _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command("UPDATE users SET password_hash = @h WHERE id = @id AND role = 'admin';", transaction).With("@h", newHash).With("@id", id);
            update.ExecuteNonQuery();
            return RevokeTokens(connection, transaction, id);
        }, ct);
        LogAdminPasswordChanged(id);
        return true;
    }

    internal static string NewId() => Base64Url(RandomNumberGenerator.GetBytes(12));

    private string? ChannelOf(string userId)
    {
        using var connection = _database.Open();
        return ChannelOf(connection, null, userId);
    }

    private static string? ChannelOf(DbConnection connection, DbTransaction? transaction, string userId)
    {
        using var command = connection.Command("SELECT id FROM channels WHERE owner_id = @u ORDER BY created_at LIMIT 1;", transaction).With("@u", userId);
        return command.ExecuteScalar() as string;
    }

    private static bool NameTaken(DbConnection connection, DbTransaction transaction, CatalogDialect dialect, string name)
    {
        if (dialect.NameLock is { } nameLock)
        {
            using var locked = connection.Command(nameLock, transaction).With("@n", name);
            locked.ExecuteNonQuery();
        }

        using var exists = connection.Command($"SELECT 1 FROM users WHERE {dialect.UserNameIs};", transaction).With("@n", name);
        return exists.ExecuteScalar() is not null;
    }

    private static UserView Insert(DbConnection connection, DbTransaction transaction, string id, string name, string hash, UserRole role, DateTimeOffset now)
    {
        using (var insert = connection.Command("INSERT INTO users (id, name, password_hash, role, created_at) VALUES (@id, @n, @h, @r, @t);", transaction))
        {
            insert.With("@id", id).With("@n", name).With("@h", hash).With("@r", UserRoles.ToWire(role)).With("@t", now.ToUnixTimeMilliseconds()).ExecuteNonQuery();
        }

        var channelId = role >= UserRole.Uploader ? ChannelStore.Insert(connection, transaction, id, name, "", now) : null;
        return new UserView(id, name, UserRoles.ToWire(role), channelId, now);
    }

    private static int RevokeTokens(DbConnection connection, DbTransaction transaction, string userId)
    {
        using var delete = connection.Command("DELETE FROM tokens WHERE user_id = @u;", transaction).With("@u", userId);
        return delete.ExecuteNonQuery();
    }

    private static byte[] TokenHash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "admin account {UserId} created from Origin:Catalog:AdminPasswordFile")]
    private partial void LogAdminCreated(string userId);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "admin account {UserId}: password changed from Origin:Catalog:AdminPasswordFile; its tokens are revoked")]
    private partial void LogAdminPasswordChanged(string userId);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Critical, Message = "the admin name is held by account {UserId}, a {Role} registered {Since}; it is not promoted and the admin is not provisioned")]
    private partial void LogAdminNameSquatted(string userId, string role, DateTimeOffset since);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Information, Message = "user {Name}: role {From} -> {To}; the user's tokens are revoked")]
    private partial void LogRoleChanged(string name, string from, string to);

    [LoggerMessage(EventId = 7205, Level = LogLevel.Warning, Message = "logins of name {Name} back off (first {Delay}, doubling with each further failure) after repeated failures")]
    private partial void LogBackedOff(string name, TimeSpan delay);

    internal static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
