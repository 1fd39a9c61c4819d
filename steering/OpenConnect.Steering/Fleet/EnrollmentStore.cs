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
/// <remarks>
/// Steering replicas may share one fleet directory. Every change is made under an exclusive lock
/// on <c>appliances.json.lock</c> on the file as it is on disk then (re-read first), so one replica
/// never writes back another's records as they were when it last read them; every read first
/// re-reads the file when it changed since (one <c>stat</c>), so a removal made on one replica
/// revokes the appliance's certificates on every replica sharing the directory at its next call.
/// A change builds the new records beside the current ones, writes them, and only then puts them in
/// place, so a failed write (disk full, a network file system error) leaves this replica's records
/// as the file has them. The file lock is taken before the in-memory lock, so the TLS and fleet
/// calls that only read (<see cref="IsRevoked"/>, <see cref="IsActive"/>) never wait on another
/// replica's change.
/// </remarks>
public sealed class EnrollmentStore
{
    public const string FileName = "appliances.json";

    /// <summary>An enrollment code: 20 random bytes in lowercase hex.</summary>
    public const int CodeLength = 40;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private static readonly TimeSpan FileLockTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Dictionary<string, ApplianceRecord> _records = new(StringComparer.Ordinal);
    private (DateTime Written, long Length, bool Settled) _loaded;

    public EnrollmentStore(string directory, TimeProvider time)
    {
        _path = Path.Combine(directory, FileName);
        _time = time;
        lock (_lock)
        {
            Refresh();
        }
    }

    /// <summary>Whether <paramref name="code"/> has the form of an enrollment code (<see cref="CodeLength"/> lowercase hex digits).</summary>
    public static bool IsValidCode(string? code) => code is { Length: CodeLength } && code.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>
    /// Adds an appliance (or gives an existing one a fresh code, or enrolls a removed one again);
    /// returns the one-time code, shown once and stored only hashed. <paramref name="code"/> is the
    /// code to use (another replica's, so the appliance may enroll with either), or null for a new one.
    /// </summary>
    public (string Code, DateTimeOffset Expires) Add(string id, string site, TimeSpan codeLifetime, string? code = null)
    {
        var identity = FleetIdentity.Appliance(site, id);
        if (code is not null && !IsValidCode(code))
        {
            throw new FleetRequestException($"an enrollment code must be {CodeLength} lowercase hex digits");
        }

        code ??= Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(CodeLength / 2));
        var now = _time.GetUtcNow();
        using var fileLock = LockFile();
        lock (_lock)
        {
            var next = Next();
            if (next.TryGetValue(id, out var used) && used.UsedCodeSha256.Contains(Hash(code)))
            {
                throw new FleetRequestException("this enrollment code was already used");
            }

            if (next.TryGetValue(id, out var existing) && !existing.Removed && existing.Site != site)
            {
                throw new FleetRequestException($"appliance '{id}' is already enrolled in site '{existing.Site}'; remove it first");
            }

            var record = existing ?? new ApplianceRecord { Id = id };
            record.Site = identity.Site;
            record.Removed = false;
            record.AddedAt = now;
            record.CodeSha256 = Hash(code);
            record.CodeExpires = now + codeLifetime;
            next[id] = record;
            Save(next);
            return (code, record.CodeExpires.Value);
        }
    }

    /// <summary>
    /// Spends an enrollment code: the appliance it was issued for, or a <see cref="FleetRequestException"/>
    /// saying it is unknown, used or expired. <paramref name="issue"/> runs under the store's lock
    /// and the code is spent only when it succeeds and the spent code is written: when the write
    /// fails this throws, so the certificate just issued is never handed out and the code stays valid.
    /// </summary>
    public FleetIdentity Redeem(string code, Func<FleetIdentity, string> issue)
    {
        var hash = Hash(code ?? "");
        var now = _time.GetUtcNow();
        using var fileLock = LockFile();
        lock (_lock)
        {
            var next = Next();
            ApplianceRecord? match = null;
            foreach (var record in next.Values)
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
            Save(next);
            return identity;
        }
    }

    /// <summary>Records a renewal's certificate serial.</summary>
    public void Issued(string id, string serial)
    {
        using var fileLock = LockFile();
        lock (_lock)
        {
            var next = Next();
            if (next.TryGetValue(id, out var record))
            {
                record.Serials.Add(serial);
                Save(next);
            }
        }
    }

    /// <summary>
    /// Removes an appliance: every certificate issued to it until now is revoked. An appliance this
    /// store has no record of is removed too when <paramref name="registeredSite"/> names the site it
    /// heartbeats as (it enrolled on a replica with its own copy of the fleet directory), so the
    /// removal holds here as well. <see cref="Removal.Unknown"/> when steering never heard of it.
    /// </summary>
    public Removal Remove(string id, string? registeredSite = null)
    {
        using var fileLock = LockFile();
        lock (_lock)
        {
            var next = Next();
            if (!next.TryGetValue(id, out var record))
            {
                if (registeredSite is null)
                {
                    return Removal.Unknown;
                }

                record = new ApplianceRecord { Id = id, Site = registeredSite, AddedAt = _time.GetUtcNow() };
                next[id] = record;
            }
            else if (record.Removed)
            {
                return Removal.AlreadyRemoved;
            }

            record.Removed = true;
            record.RevokedBefore = _time.GetUtcNow();
            record.CodeSha256 = null;
            record.CodeExpires = null;
            Save(next);
            return Removal.Removed;
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
            Refresh();
            return _records.TryGetValue(identity.Name, out var record) && record.RevokedBefore is { } cutoff
                && (record.Removed || issuedAt <= cutoff || record.Site != identity.Site);
        }
    }

    /// <summary>Whether the appliance is enrolled (added and not removed) in the site <paramref name="identity"/> names.</summary>
    public bool IsActive(FleetIdentity identity)
    {
        lock (_lock)
        {
            Refresh();
            return _records.TryGetValue(identity.Name, out var record) && !record.Removed && record.Site == identity.Site;
        }
    }

    public IReadOnlyList<ApplianceRecord> List()
    {
        lock (_lock)
        {
            Refresh();
            return [.. _records.Values.Where(r => !r.Removed).OrderBy(r => r.Id, StringComparer.Ordinal).Select(r => r.Copy())];
        }
    }

    private static string Hash(string code) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code)));

    /// <summary>
    /// Re-reads the file when it may have changed since it was last read or written here (caller
    /// holds <see cref="_lock"/>): always when <paramref name="force"/> (a change, under the file
    /// lock), else when its time or length differ. File times have the kernel tick's granularity,
    /// so two writes within one tick may look alike: a file read less than a second after it was
    /// written is read again on the next call until it has settled.
    /// </summary>
    private void Refresh(bool force = false)
    {
        var file = new FileInfo(_path);
        if (!file.Exists || (!force && _loaded.Settled && (file.LastWriteTimeUtc, file.Length) == (_loaded.Written, _loaded.Length)))
        {
            return;
        }

        // Replaced only by a rename, so the file read is one whole version.
        _records = (JsonSerializer.Deserialize<List<ApplianceRecord>>(File.ReadAllText(_path), Json) ?? []).ToDictionary(r => r.Id, StringComparer.Ordinal);
        Loaded(file);
    }

    // Wall-clock time, not the injected clock: it is compared with the file system's times.
    private void Loaded(FileInfo file) => _loaded = (file.LastWriteTimeUtc, file.Length, DateTime.UtcNow - file.LastWriteTimeUtc > SettleTime);

    /// <summary>
    /// The exclusive lock every change holds, across the processes sharing the directory (an advisory
    /// lock on <c>appliances.json.lock</c>, which .NET takes for <see cref="FileShare.None"/>).
    /// </summary>
    private FileStream LockFile()
    {
        // Real time, not the injected clock: this waits for another process.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                return new FileStream(_path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (System.Diagnostics.Stopwatch.GetElapsedTime(started) < FileLockTimeout)
            {
                Thread.Sleep(5);
            }
        }
    }

    /// <summary>
    /// The records as the file has them now (re-read; the caller holds the file lock and <see cref="_lock"/>),
    /// copied, for a change to edit and <see cref="Save"/>.
    /// </summary>
    private Dictionary<string, ApplianceRecord> Next()
    {
        Refresh(force: true);
        return _records.ToDictionary(r => r.Key, r => r.Value.Copy(), StringComparer.Ordinal);
    }

    /// <summary>Writes <paramref name="next"/> (temp file and rename), then puts it in place; on a failed write nothing changes.</summary>
    private void Save(Dictionary<string, ApplianceRecord> next)
    {
        // A name of its own: replicas sharing the directory never write each other's temp file.
        var temp = $"{_path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllText(temp, JsonSerializer.Serialize(next.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToList(), Json));
            File.Move(temp, _path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        _records = next;
        Loaded(new FileInfo(_path));
    }
}

/// <summary>What a removal did.</summary>
public enum Removal
{
    /// <summary>Steering never heard of the appliance: no record, not registered.</summary>
    Unknown,

    /// <summary>Removed now: its certificates are revoked.</summary>
    Removed,

    /// <summary>Removed before (here, or on a replica sharing the fleet directory).</summary>
    AlreadyRemoved,
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
