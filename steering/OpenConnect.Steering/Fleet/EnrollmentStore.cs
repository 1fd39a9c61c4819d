using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// The appliances operators added (<c>appliances.json</c> in the fleet directory, rewritten with a
/// temp file and rename on every change): id, site, the SHA-256 of the pending one-time enrollment
/// code and its expiry, the certificates issued, and for removed appliances the moment from which
/// every certificate issued to them earlier is revoked.
/// </summary>
public sealed class EnrollmentStore
{
    public const string FileName = "appliances.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ApplianceRecord> _records;

    public EnrollmentStore(string directory, TimeProvider time)
    {
        _path = Path.Combine(directory, FileName);
        _time = time;
        _records = File.Exists(_path)
            ? (JsonSerializer.Deserialize<List<ApplianceRecord>>(File.ReadAllText(_path), Json) ?? []).ToDictionary(r => r.Id, StringComparer.Ordinal)
            : new Dictionary<string, ApplianceRecord>(StringComparer.Ordinal);
    }

    /// <summary>Adds an appliance (or gives an existing one a fresh code); returns the one-time code, shown once and stored only hashed.</summary>
    public (string Code, DateTimeOffset Expires) Add(string id, string site, TimeSpan codeLifetime)
    {
        var identity = FleetIdentity.Appliance(site, id);
        var code = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_records.TryGetValue(id, out var existing) && !existing.Removed && existing.Site != site)
            {
                throw new FleetRequestException($"appliance '{id}' is already enrolled in site '{existing.Site}'; remove it first");
            }

            var record = existing ?? new ApplianceRecord { Id = id };
            record.Site = identity.Site;
            record.Removed = false;
            record.AddedAt = now;
            record.CodeSha256 = Hash(code);
            record.CodeExpires = now + codeLifetime;
            _records[id] = record;
            Save();
            return (code, record.CodeExpires.Value);
        }
    }

    /// <summary>
    /// Spends an enrollment code: the appliance it was issued for, or a <see cref="FleetRequestException"/>
    /// saying it is unknown, used or expired. <paramref name="issue"/> runs under the store's lock
    /// and the code is spent only when it succeeds.
    /// </summary>
    public FleetIdentity Redeem(string code, Func<FleetIdentity, string> issue)
    {
        var hash = Hash(code ?? "");
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            ApplianceRecord? match = null;
            foreach (var record in _records.Values)
            {
                if (record.CodeSha256 is { } stored && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(stored), Convert.FromHexString(hash)))
                {
                    match = record;
                }

                if (record.UsedCodeSha256.Any(u => u == hash))
                {
                    throw new FleetRequestException("enrollment code was already used; ask the operator for a new one");
                }
            }

            if (match is null || match.Removed)
            {
                throw new FleetRequestException("enrollment code is not valid");
            }

            if (now > match.CodeExpires)
            {
                throw new FleetRequestException($"enrollment code expired at {match.CodeExpires:u}; ask the operator for a new one");
            }

            var identity = FleetIdentity.Appliance(match.Site, match.Id);
            var serial = issue(identity);
            match.UsedCodeSha256.Add(hash);
            match.CodeSha256 = null;
            match.CodeExpires = null;
            match.Serials.Add(serial);
            Save();
            return identity;
        }
    }

    /// <summary>Records a renewal's certificate serial.</summary>
    public void Issued(string id, string serial)
    {
        lock (_lock)
        {
            if (_records.TryGetValue(id, out var record))
            {
                record.Serials.Add(serial);
                Save();
            }
        }
    }

    /// <summary>Removes an appliance: every certificate issued to it until now is revoked. False when it is not enrolled.</summary>
    public bool Remove(string id)
    {
        lock (_lock)
        {
            if (!_records.TryGetValue(id, out var record) || record.Removed)
            {
                return false;
            }

            record.Removed = true;
            record.RevokedBefore = _time.GetUtcNow();
            record.CodeSha256 = null;
            record.CodeExpires = null;
            Save();
            return true;
        }
    }

    /// <summary>
    /// Whether a certificate for <paramref name="identity"/> is revoked: its appliance was removed
    /// (now or earlier) after the certificate was issued. Appliance certificates issued by the CA
    /// outside enrollment (tests, a CLI) are valid until their appliance is removed.
    /// </summary>
    public bool IsRevoked(FleetIdentity identity, DateTimeOffset issuedAt)
    {
        if (identity.Role != FleetRole.Appliance)
        {
            return false;
        }

        lock (_lock)
        {
            return _records.TryGetValue(identity.Name, out var record) && record.RevokedBefore is { } cutoff
                && (record.Removed || issuedAt <= cutoff || record.Site != identity.Site);
        }
    }

    /// <summary>Whether the appliance is enrolled (added and not removed) in the site <paramref name="identity"/> names.</summary>
    public bool IsActive(FleetIdentity identity)
    {
        lock (_lock)
        {
            return _records.TryGetValue(identity.Name, out var record) && !record.Removed && record.Site == identity.Site;
        }
    }

    public IReadOnlyList<ApplianceRecord> List()
    {
        lock (_lock)
        {
            return [.. _records.Values.Where(r => !r.Removed).OrderBy(r => r.Id, StringComparer.Ordinal).Select(r => r.Copy())];
        }
    }

    private static string Hash(string code) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code)));

    private void Save()
    {
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_records.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToList(), Json));
        File.Move(temp, _path, overwrite: true);
    }
}

/// <summary>One appliance's enrollment record.</summary>
public sealed class ApplianceRecord
{
    public string Id { get; set; } = "";

    public string Site { get; set; } = "";

    public DateTimeOffset AddedAt { get; set; }

    public bool Removed { get; set; }

    /// <summary>Certificates issued before this moment are revoked (set on removal).</summary>
    public DateTimeOffset? RevokedBefore { get; set; }

    /// <summary>SHA-256 (hex) of the pending enrollment code; null once used or when none was given.</summary>
    public string? CodeSha256 { get; set; }

    public DateTimeOffset? CodeExpires { get; set; }

    /// <summary>SHA-256 of codes already spent, so a reused code is named as such.</summary>
    public List<string> UsedCodeSha256 { get; set; } = [];

    /// <summary>Serial numbers of the certificates issued to this appliance.</summary>
    public List<string> Serials { get; set; } = [];

    public ApplianceRecord Copy() => new()
    {
        Id = Id,
        Site = Site,
        AddedAt = AddedAt,
        Removed = Removed,
        RevokedBefore = RevokedBefore,
        CodeSha256 = CodeSha256,
        CodeExpires = CodeExpires,
        UsedCodeSha256 = [.. UsedCodeSha256],
        Serials = [.. Serials],
    };
}
