using OpenConnect.Hosting;
using OpenConnect.Hosting.Database;

namespace OpenConnect.Origin.Catalog;

/// <summary>Catalog settings (section <c>Origin:Catalog</c>): metadata, search, accounts, social features.</summary>
public sealed class CatalogOptions
{
    /// <summary>How often aggregated view counts are written to the database. Default 2 s; a crash loses at most this much. 0.05 s..10 min.</summary>
    public TimeSpan ViewFlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a bearer token issued at login stays valid. Default 7 days. 1 min..365 days.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>PBKDF2-SHA256 iterations for new password hashes. Default 600,000 (OWASP 2023); existing hashes keep their own count. 10,000..10,000,000.</summary>
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>
    /// A file holding the password of the built-in <c>admin</c> account (created or updated at start).
    /// Empty (the default) means no admin account is provisioned.
    /// </summary>
    public string AdminPasswordFile { get; set; } = "";

    /// <summary>Requests per second each client (remote address) may make to <c>/api/v1</c> on average. Default 20. Beyond the bucket (<see cref="RateLimitBurst"/>) a request gets 429 with <c>Retry-After</c>. 1..10,000,000.</summary>
    public int RateLimitPerSecond { get; set; } = 20;

    /// <summary>Requests a client may make in a burst before the per-second rate applies. Default 100.</summary>
    public int RateLimitBurst { get; set; } = 100;

    /// <summary>
    /// Registrations each client (remote address) may make in a burst. Default 5. Registration has its
    /// own token bucket, stricter than the <c>/api/v1</c> one: each costs a password hash and a row. 1..1,000,000.
    /// </summary>
    public int RegistrationBurst { get; set; } = 5;

    /// <summary>Time after which a client may register one more account once its burst is spent. Default 1 min. 1 ms..1 day.</summary>
    public TimeSpan RegistrationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Failed logins of one account name (from any client) before logins of that name back off. Default 5. 1..1000.</summary>
    public int LoginBackoffFailures { get; set; } = 5;

    /// <summary>
    /// The first back-off, after <see cref="LoginBackoffFailures"/> failures; each further failure doubles
    /// it up to <see cref="LoginBackoffMax"/>. During a back-off every login of the name, right or wrong,
    /// answers 429 with <c>Retry-After</c> without hashing. Default 1 s.
    /// </summary>
    public TimeSpan LoginBackoffBase { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest back-off. Default 15 min. A name's failures are forgotten after a success, or after
    /// four times this long without a failure.
    /// </summary>
    public TimeSpan LoginBackoffMax { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Password hashes (login, registration) computed at once. Default half the cores, at least 1, so
    /// logins can never take the whole CPU. 1..1024.
    /// </summary>
    /// <value>half the processor count, at least 1</value>
    public int PasswordHashConcurrency { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Password hashes that may wait for a slot; beyond them a login or registration answers 503 with <c>Retry-After</c>. Default 4. 0..100,000.</summary>
    public int PasswordHashQueue { get; set; } = 4;

    /// <summary>How long an invite code an admin creates stays valid unless the request asks for another time. Default 7 days. 1 min..365 days; a request may ask for 60 s..365 days.</summary>
    public TimeSpan InviteLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Titles kept in the in-process metadata cache. Default 10,000.</summary>
    public int TitleCacheEntries { get; set; } = 10_000;

    /// <summary>Interval of keep-alive comments on idle notification streams. Default 15 s.</summary>
    public TimeSpan NotificationKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Bytes of <c>catalog.db</c> each connection reads through a memory map (SQLite <c>mmap_size</c>)
    /// instead of <c>pread</c> copies. Default 1 GiB; 0 turns it off. Measured in <c>bench catalog</c>.
    /// </summary>
    public long MmapBytes { get; set; } = 1L << 30;

    /// <summary>
    /// How often the search indexes are merged into one segment each (FTS5 <c>optimize</c>, under the
    /// write lock: about a second per 100,000 titles, reads go on). Default 1 day.
    /// </summary>
    public TimeSpan SearchOptimizeInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Where the catalog (titles, search, accounts, social features, notifications) is stored:
    /// <c>{DataDirectory}/catalog.db</c> (the default) or PostgreSQL (15 or later, with the <c>pg_trgm</c>
    /// extension), shared by every origin instance (section <c>Origin:Catalog:Database</c>).
    /// </summary>
    public DatabaseOptions Database { get; set; } = new();

    public void Validate(OptionsCheck check)
    {
        Database.Validate(check, "Catalog:Database");
        check.Require(ViewFlushInterval >= TimeSpan.FromMilliseconds(50) && ViewFlushInterval <= TimeSpan.FromMinutes(10), "Catalog:ViewFlushInterval", ViewFlushInterval, "must be between 00:00:00.05 and 00:10:00");
        check.Require(TokenLifetime >= TimeSpan.FromMinutes(1) && TokenLifetime <= TimeSpan.FromDays(365), "Catalog:TokenLifetime", TokenLifetime, "must be between 00:01:00 and 365.00:00:00");
        check.Require(PasswordIterations is >= 10_000 and <= 10_000_000, "Catalog:PasswordIterations", PasswordIterations, "must be between 10000 and 10000000");
        check.Require(AdminPasswordFile.Length == 0 || File.Exists(AdminPasswordFile), "Catalog:AdminPasswordFile", AdminPasswordFile, "must name an existing file (or be empty)");
        check.Require(RateLimitPerSecond is >= 1 and <= 10_000_000, "Catalog:RateLimitPerSecond", RateLimitPerSecond, "must be between 1 and 10000000");
        check.Require(RateLimitBurst >= 1 && RateLimitBurst <= 10_000_000, "Catalog:RateLimitBurst", RateLimitBurst, "must be between 1 and 10000000");
        check.Require(RegistrationBurst is >= 1 and <= 1_000_000, "Catalog:RegistrationBurst", RegistrationBurst, "must be between 1 and 1000000");
        check.Require(RegistrationInterval >= TimeSpan.FromMilliseconds(1) && RegistrationInterval <= TimeSpan.FromDays(1), "Catalog:RegistrationInterval", RegistrationInterval, "must be between 00:00:00.001 and 1.00:00:00");
        check.Require(LoginBackoffFailures is >= 1 and <= 1000, "Catalog:LoginBackoffFailures", LoginBackoffFailures, "must be between 1 and 1000");
        check.Require(LoginBackoffBase >= TimeSpan.FromSeconds(1) && LoginBackoffBase <= TimeSpan.FromHours(1), "Catalog:LoginBackoffBase", LoginBackoffBase, "must be between 00:00:01 and 01:00:00");
        check.Require(LoginBackoffMax >= LoginBackoffBase && LoginBackoffMax <= TimeSpan.FromDays(1), "Catalog:LoginBackoffMax", LoginBackoffMax, "must be between Catalog:LoginBackoffBase and 1.00:00:00");
        check.Require(PasswordHashConcurrency is >= 1 and <= 1024, "Catalog:PasswordHashConcurrency", PasswordHashConcurrency, "must be between 1 and 1024");
        check.Require(PasswordHashQueue is >= 0 and <= 100_000, "Catalog:PasswordHashQueue", PasswordHashQueue, "must be between 0 and 100000");
        check.Require(InviteLifetime >= TimeSpan.FromMinutes(1) && InviteLifetime <= TimeSpan.FromDays(365), "Catalog:InviteLifetime", InviteLifetime, "must be between 00:01:00 and 365.00:00:00");
        check.Require(TitleCacheEntries is >= 1 and <= 10_000_000, "Catalog:TitleCacheEntries", TitleCacheEntries, "must be between 1 and 10000000");
        check.Require(MmapBytes is >= 0 and <= 1L << 40, "Catalog:MmapBytes", MmapBytes, "must be between 0 and 1099511627776");
        check.Require(SearchOptimizeInterval >= TimeSpan.FromMinutes(1) && SearchOptimizeInterval <= TimeSpan.FromDays(30), "Catalog:SearchOptimizeInterval", SearchOptimizeInterval, "must be between 00:01:00 and 30.00:00:00");
        check.Require(NotificationKeepAlive >= TimeSpan.FromSeconds(1) && NotificationKeepAlive <= TimeSpan.FromMinutes(5), "Catalog:NotificationKeepAlive", NotificationKeepAlive, "must be between 00:00:01 and 00:05:00");
    }
}
