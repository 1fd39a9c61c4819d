using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Origin.Catalog;

/// <summary>Catalog settings (section <c>Origin:Catalog</c>): metadata, search, accounts, social features.</summary>
public sealed class CatalogOptions
{
    /// <summary>How often aggregated view counts are written to the database. Default 2 s; a crash loses at most this much.</summary>
    public TimeSpan ViewFlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a bearer token issued at login stays valid. Default 7 days.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>PBKDF2-SHA256 iterations for new password hashes. Default 600,000 (OWASP 2023); existing hashes keep their own count.</summary>
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>
    /// A file holding the password of the built-in <c>admin</c> account (created or updated at start).
    /// Empty (the default) means no admin account is provisioned.
    /// </summary>
    public string AdminPasswordFile { get; set; } = "";

    /// <summary>Requests per second each client (remote address) may make to <c>/api/v1</c> on average. Default 20.</summary>
    public int RateLimitPerSecond { get; set; } = 20;

    /// <summary>Requests a client may make in a burst before the per-second rate applies. Default 100.</summary>
    public int RateLimitBurst { get; set; } = 100;

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

    public void Validate(OptionsCheck check)
    {
        check.Require(ViewFlushInterval >= TimeSpan.FromMilliseconds(50) && ViewFlushInterval <= TimeSpan.FromMinutes(10), "Catalog:ViewFlushInterval", ViewFlushInterval, "must be between 00:00:00.05 and 00:10:00");
        check.Require(TokenLifetime >= TimeSpan.FromMinutes(1) && TokenLifetime <= TimeSpan.FromDays(365), "Catalog:TokenLifetime", TokenLifetime, "must be between 00:01:00 and 365.00:00:00");
        check.Require(PasswordIterations is >= 10_000 and <= 10_000_000, "Catalog:PasswordIterations", PasswordIterations, "must be between 10000 and 10000000");
        check.Require(AdminPasswordFile.Length == 0 || File.Exists(AdminPasswordFile), "Catalog:AdminPasswordFile", AdminPasswordFile, "must name an existing file (or be empty)");
        check.Require(RateLimitPerSecond is >= 1 and <= 10_000_000, "Catalog:RateLimitPerSecond", RateLimitPerSecond, "must be between 1 and 10000000");
        check.Require(RateLimitBurst >= 1 && RateLimitBurst <= 10_000_000, "Catalog:RateLimitBurst", RateLimitBurst, "must be between 1 and 10000000");
        check.Require(TitleCacheEntries is >= 1 and <= 10_000_000, "Catalog:TitleCacheEntries", TitleCacheEntries, "must be between 1 and 10000000");
        check.Require(MmapBytes is >= 0 and <= 1L << 40, "Catalog:MmapBytes", MmapBytes, "must be between 0 and 1099511627776");
        check.Require(SearchOptimizeInterval >= TimeSpan.FromMinutes(1) && SearchOptimizeInterval <= TimeSpan.FromDays(30), "Catalog:SearchOptimizeInterval", SearchOptimizeInterval, "must be between 00:01:00 and 30.00:00:00");
        check.Require(NotificationKeepAlive >= TimeSpan.FromSeconds(1) && NotificationKeepAlive <= TimeSpan.FromMinutes(5), "Catalog:NotificationKeepAlive", NotificationKeepAlive, "must be between 00:00:01 and 00:05:00");
    }
}
