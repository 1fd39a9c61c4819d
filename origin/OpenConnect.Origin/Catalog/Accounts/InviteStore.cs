using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>An invite as an admin lists it; the code itself is shown once, at creation.</summary>
public sealed record InviteView(
    string Id, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string State,
    string? UsedBy, DateTimeOffset? UsedAt, DateTimeOffset? RevokedAt);

/// <summary>A new invite: <see cref="Code"/> goes to the person who will register with it.</summary>
public sealed record CreatedInvite(string Id, string Code, DateTimeOffset ExpiresAt);

public enum InviteRevocation
{
    Revoked,
    Unknown,
    AlreadyUsed,
}

/// <summary>
/// Invite codes: an admin creates one (128 random bits, kept only as its SHA-256, with an expiry),
/// and registering with it makes an uploader. A code is spent in the registration's transaction,
/// so it makes exactly one account.
/// </summary>
public sealed class InviteStore
{
    public const int MaxCodeLength = 64;

    private readonly CatalogDatabase _database;
    private readonly TimeProvider _time;
    private readonly CatalogOptions _options;

    public InviteStore(CatalogDatabase database, IOptions<OriginOptions> options, TimeProvider time)
    {
        _database = database;
        _options = options.Value.Catalog;
        _time = time;
    }

    public TimeSpan DefaultLifetime => _options.InviteLifetime;

    public async Task<CreatedInvite> CreateAsync(string adminId, TimeSpan lifetime, CancellationToken ct)
    {
        var code = AccountStore.Base64Url(RandomNumberGenerator.GetBytes(16));
        var id = AccountStore.NewId();
        var now = _time.GetUtcNow();
        var expires = now + lifetime;
        await _database.WriteAsync((connection, transaction) =>
        {
            using var insert = connection.Command(
                "INSERT INTO invites (id, code_hash, created_by, created_at, expires_at) VALUES (@id, @h, @by, @t, @e);", transaction);
            return insert.With("@id", id).With("@h", CodeHash(code)).With("@by", adminId).With("@t", now.ToUnixTimeMilliseconds()).With("@e", expires.ToUnixTimeMilliseconds()).ExecuteNonQuery();
        }, ct);
        return new CreatedInvite(id, code, expires);
    }

    /// <summary>Invites, newest first, after the cursor's position.</summary>
    public Page<InviteView> List(long beforeSeq, int limit)
    {
        using var connection = _database.Open();
        using var command = connection.Command(
            "SELECT seq, id, created_by, created_at, expires_at, used_by, used_at, revoked_at FROM invites WHERE seq < @before ORDER BY seq DESC LIMIT @n;")
            .With("@before", beforeSeq).With("@n", limit + 1);
        using var reader = command.ExecuteReader();
        var items = new List<InviteView>();
        long lastSeq = 0;
        var now = _time.GetUtcNow();
        while (reader.Read())
        {
            if (items.Count == limit)
            {
                return new Page<InviteView>(items, Cursor.Encode("i", lastSeq));
            }

            lastSeq = reader.GetInt64(0);
            var expires = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4));
            var usedAt = reader.Int64OrNull(6) is { } used ? DateTimeOffset.FromUnixTimeMilliseconds(used) : (DateTimeOffset?)null;
            var revokedAt = reader.Int64OrNull(7) is { } revoked ? DateTimeOffset.FromUnixTimeMilliseconds(revoked) : (DateTimeOffset?)null;
            var state = usedAt is not null ? "used" : revokedAt is not null ? "revoked" : expires <= now ? "expired" : "open";
            items.Add(new InviteView(
                reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), expires, state,
                reader.StringOrNull(5), usedAt, revokedAt));
        }

        return new Page<InviteView>(items, null);
    }

    public Task<InviteRevocation> RevokeAsync(string id, CancellationToken ct)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command("UPDATE invites SET revoked_at = coalesce(revoked_at, @t) WHERE id = @id AND used_at IS NULL;", transaction)
                .With("@t", now).With("@id", id);
            if (update.ExecuteNonQuery() == 1)
            {
                return InviteRevocation.Revoked;
            }

            using var exists = connection.Command("SELECT 1 FROM invites WHERE id = @id;", transaction).With("@id", id);
            return exists.ExecuteScalar() is null ? InviteRevocation.Unknown : InviteRevocation.AlreadyUsed;
        }, ct);
    }

    /// <summary>Whether the code could be spent now (read only: a cheap check before hashing a password).</summary>
    public bool IsOpen(string code)
    {
        using var connection = _database.Open();
        return IsOpen(connection, null, code, _time.GetUtcNow());
    }

    /// <summary>Spends an open code for <paramref name="userId"/> inside the registration's transaction; false when it is not open.</summary>
    internal static bool TrySpend(DbConnection connection, DbTransaction transaction, string code, string userId, DateTimeOffset now)
    {
        using var spend = connection.Command(
            "UPDATE invites SET used_by = @u, used_at = @now WHERE code_hash = @h AND used_at IS NULL AND revoked_at IS NULL AND expires_at > @now;", transaction)
            .With("@u", userId).With("@now", now.ToUnixTimeMilliseconds()).With("@h", CodeHash(code));
        return spend.ExecuteNonQuery() == 1;
    }

    private static bool IsOpen(DbConnection connection, DbTransaction? transaction, string code, DateTimeOffset now)
    {
        if (code.Length is 0 or > MaxCodeLength)
        {
            return false;
        }

        using var check = connection.Command(
            "SELECT 1 FROM invites WHERE code_hash = @h AND used_at IS NULL AND revoked_at IS NULL AND expires_at > @now;", transaction)
            .With("@h", CodeHash(code)).With("@now", now.ToUnixTimeMilliseconds());
        return check.ExecuteScalar() is not null;
    }

    private static byte[] CodeHash(string code) => SHA256.HashData(Encoding.UTF8.GetBytes(code));
}
