using System.Collections.Concurrent;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// The titles' integrity manifests, fetched from the parents on first need and kept for a while.
/// A title without a manifest (404) is remembered as such for the not-found TTL, so objects of
/// titles that publish none are admitted unverified rather than delayed.
/// </summary>
public sealed class IntegrityCatalog
{
    /// <summary>How long a fetched manifest is trusted before it is fetched again.</summary>
    public static readonly TimeSpan ManifestTtl = TimeSpan.FromMinutes(5);

    private const int MaxManifestBytes = 16 << 20;

    private readonly ConcurrentDictionary<string, Lazy<Task<Entry>>> _titles = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _absentTtl;
    private readonly ILogger _logger;
    private readonly Func<string, int, CancellationToken, Task<(int Status, byte[]? Body)>> _fetch;
    private readonly PublicKeyRing _trustedKeys;

    /// <param name="absentTtl">How long "this title has no manifest" is remembered.</param>
    /// <param name="trustedKeys">The origin's public keys; when not empty a manifest must carry a valid signature by one of them.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where unusable manifests are reported.</param>
    /// <param name="fetch">How to GET a small object from the parents (the owning <see cref="ParentFetcher"/>).</param>
    public IntegrityCatalog(TimeSpan absentTtl, PublicKeyRing trustedKeys, TimeProvider time, ILogger logger, Func<string, int, CancellationToken, Task<(int Status, byte[]? Body)>> fetch)
    {
        _absentTtl = absentTtl;
        _trustedKeys = trustedKeys;
        _time = time;
        _logger = logger;
        _fetch = fetch;
    }

    /// <summary>
    /// The SHA-256 the title's manifest gives for <paramref name="key"/>; null when the title has no
    /// manifest or the manifest does not list the file. Throws when the manifest exists but cannot be
    /// read (the caller then refuses to admit the object: better a miss than an unverified byte).
    /// </summary>
    public async Task<byte[]?> ExpectedSha256Async(ContentKey key, CancellationToken cancellationToken)
    {
        if (key.Rendition is null && key.FileName == IntegrityManifest.FileName)
        {
            return null;
        }

        while (true)
        {
            var lazy = _titles.GetOrAdd(key.TitleId, title => new Lazy<Task<Entry>>(() => LoadAsync(title)));
            var entry = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_time.GetUtcNow() < entry.Expires)
            {
                if (entry.Error is not null)
                {
                    throw new InvalidDataException(entry.Error);
                }

                return entry.Manifest?.ExpectedSha256(key);
            }

            _titles.TryRemove(new KeyValuePair<string, Lazy<Task<Entry>>>(key.TitleId, lazy));
        }
    }

    private async Task<Entry> LoadAsync(string titleId)
    {
        var now = _time.GetUtcNow();
        var (status, body) = await _fetch(IntegrityManifest.PathFor(titleId), MaxManifestBytes, CancellationToken.None).ConfigureAwait(false);
        if (status == 404)
        {
            return new Entry(null, null, now + _absentTtl);
        }

        if (status != 200 || body is null)
        {
            // Parents unreachable: retry soon, and do not admit what cannot be checked.
            return new Entry(null, $"integrity manifest of {titleId} unavailable (status {status})", now + TimeSpan.FromSeconds(2));
        }

        try
        {
            return new Entry(IntegrityManifest.ParseFor(titleId, body, _trustedKeys), null, now + ManifestTtl);
        }
        catch (FormatException ex)
        {
            UpstreamLog.BadManifest(_logger, titleId, ex.Message);
            return new Entry(null, ex.Message, now + _absentTtl);
        }
    }

    private sealed record Entry(IntegrityManifest? Manifest, string? Error, DateTimeOffset Expires);
}
