using System.Collections.Concurrent;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// The titles' integrity manifests, fetched from the parents on first need and kept for a while, and
/// the admission rule built on them. With <c>requireSignedManifest</c> (the production setting: the
/// appliance has <c>Appliance:Upstream:IntegrityKeys</c> and not <c>AllowUnsignedContent</c>) an object
/// is admitted only when its title's manifest exists, is that title's, is signed by a trusted origin
/// key and lists the object; anything else is refused with a reason. Without it (test-only), a title
/// without a manifest and a file the manifest does not list are admitted unverified.
/// </summary>
/// <remarks>
/// A manifest the parents do not have (every parent answered 404) is remembered for the not-found TTL,
/// one that is invalid or badly signed likewise; a manifest that could not be fetched (a parent failed,
/// timed out or answered an error) is remembered for only <see cref="UnavailableTtl"/>, so a transient
/// failure never becomes a long refusal.
/// </remarks>
public sealed class IntegrityCatalog
{
    /// <summary>How long a fetched manifest is trusted before it is fetched again.</summary>
    public static readonly TimeSpan ManifestTtl = TimeSpan.FromMinutes(5);

    /// <summary>How long a failed manifest fetch (not a 404) is remembered before the parents are asked again.</summary>
    public static readonly TimeSpan UnavailableTtl = TimeSpan.FromSeconds(2);

    private const int MaxManifestBytes = 16 << 20;

    private readonly ConcurrentDictionary<string, Lazy<Task<Entry>>> _titles = new();
    private readonly bool _requireSignedManifest;
    private readonly TimeProvider _time;
    private readonly TimeSpan _absentTtl;
    private readonly ILogger _logger;
    private readonly Func<string, int, Func<byte[], bool>, CancellationToken, Task<(int Status, byte[]? Body)>> _fetch;
    private readonly Func<PublicKeyRing> _trustedKeys;

    /// <param name="requireSignedManifest">Refuse objects of titles without a valid signed manifest, and files it does not list.</param>
    /// <param name="absentTtl">How long "this title has no (usable) manifest" is remembered.</param>
    /// <param name="trustedKeys">The origin's public keys, read per manifest (they change on a reload); when not empty a manifest must carry a valid signature by one of them.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where unusable manifests are reported.</param>
    /// <param name="fetch">
    /// How to GET a small object from the parents: 200 with the first body the predicate accepts (or the
    /// last one it refused), 404 when the authority said so, anything else when the parents failed.
    /// </param>
    public IntegrityCatalog(bool requireSignedManifest, TimeSpan absentTtl, Func<PublicKeyRing> trustedKeys, TimeProvider time, ILogger logger, Func<string, int, Func<byte[], bool>, CancellationToken, Task<(int Status, byte[]? Body)>> fetch)
    {
        _requireSignedManifest = requireSignedManifest;
        _absentTtl = absentTtl;
        _trustedKeys = trustedKeys;
        _time = time;
        _logger = logger;
        _fetch = fetch;
    }

    /// <summary>
    /// What the title's manifest says about <paramref name="key"/>: the expected size and digest, a
    /// refusal with its reason, or (only without <c>requireSignedManifest</c>) admission unverified. The
    /// manifest file itself is checked by <see cref="CheckManifestBody"/> once its body is in.
    /// </summary>
    public async Task<IntegrityVerdict> CheckAsync(ContentKey key, CancellationToken cancellationToken)
    {
        if (IsManifest(key))
        {
            return IntegrityVerdict.Unverified;
        }

        while (true)
        {
            var lazy = _titles.GetOrAdd(key.TitleId, title => new Lazy<Task<Entry>>(() => LoadAsync(title)));
            var entry = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_time.GetUtcNow() >= entry.Expires)
            {
                _titles.TryRemove(new KeyValuePair<string, Lazy<Task<Entry>>>(key.TitleId, lazy));
                continue;
            }

            if (entry.Refusal is { } refusal)
            {
                return refusal;
            }

            if (entry.Manifest is null)
            {
                return IntegrityVerdict.Unverified;
            }

            if (entry.Manifest.Find(key) is { } expected)
            {
                return IntegrityVerdict.Expect(expected);
            }

            return _requireSignedManifest
                ? IntegrityVerdict.Refuse(IntegrityReason.Unlisted, $"{key.Path} is not listed in the integrity manifest of {key.TitleId}")
                : IntegrityVerdict.Unverified;
        }
    }

    /// <summary>Checks a fetched <c>integrity.json</c> body before it is admitted or served: the same rules as for the manifest the catalog loads.</summary>
    public IntegrityVerdict CheckManifestBody(string titleId, byte[] body)
    {
        var (_, refusal) = Judge(titleId, body, _trustedKeys());
        return refusal ?? IntegrityVerdict.Unverified;
    }

    public static bool IsManifest(ContentKey key) => key.Rendition is null && key.FileName == IntegrityManifest.FileName;

    private async Task<Entry> LoadAsync(string titleId)
    {
        var now = _time.GetUtcNow();
        try
        {
            var (status, body) = await _fetch(IntegrityManifest.PathFor(titleId), MaxManifestBytes, candidate => Judge(titleId, candidate, _trustedKeys()).Refusal is null, CancellationToken.None).ConfigureAwait(false);
            if (status == 404)
            {
                var missing = _requireSignedManifest
                    ? IntegrityVerdict.Refuse(IntegrityReason.ManifestMissing, $"title {titleId} publishes no integrity manifest")
                    : null;
                return new Entry(null, missing, now + _absentTtl);
            }

            if (status != 200 || body is null)
            {
                // Parents unreachable: retry soon, and do not admit what cannot be checked.
                return Unavailable(titleId, $"status {status}", now);
            }

            var (manifest, refusal) = Judge(titleId, body, _trustedKeys());
            if (refusal is not null)
            {
                UpstreamLog.BadManifest(_logger, titleId, refusal.Detail!);
                return new Entry(null, refusal, now + _absentTtl);
            }

            return new Entry(manifest, null, now + ManifestTtl);
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the entry expires soon: a faulted load must never stay cached.
            return Unavailable(titleId, ex.Message, now);
        }
    }

    private static Entry Unavailable(string titleId, string why, DateTimeOffset now) =>
        new(null, IntegrityVerdict.Refuse(IntegrityReason.ManifestUnavailable, $"integrity manifest of {titleId} unavailable ({why})"), now + UnavailableTtl);

    /// <summary>
    /// Parses and checks a manifest body served for <paramref name="titleId"/>: shape and Merkle roots,
    /// the title it names, and (when <paramref name="trustedKeys"/> is not empty) its signature. Returns
    /// the manifest, or the refusal with its reason. Pull and fill judge manifests with this one rule.
    /// </summary>
    public static (IntegrityManifest? Manifest, IntegrityVerdict? Refusal) Judge(string titleId, ReadOnlySpan<byte> body, PublicKeyRing trustedKeys)
    {
        IntegrityManifest manifest;
        try
        {
            manifest = IntegrityManifest.Parse(body);
        }
        catch (FormatException ex)
        {
            return (null, IntegrityVerdict.Refuse(IntegrityReason.ManifestInvalid, $"integrity manifest of {titleId} is invalid: {ex.Message}"));
        }

        if (!string.Equals(manifest.TitleId, titleId, StringComparison.Ordinal))
        {
            return (null, IntegrityVerdict.Refuse(IntegrityReason.ManifestInvalid, $"the integrity manifest served for {titleId} is the manifest of '{manifest.TitleId}'"));
        }

        if (trustedKeys.Count == 0)
        {
            return (manifest, null);
        }

        return manifest.CheckSignature(trustedKeys) switch
        {
            ManifestSignature.Valid => (manifest, null),
            ManifestSignature.Unsigned => (null, IntegrityVerdict.Refuse(IntegrityReason.Unsigned, $"the integrity manifest of {titleId} is not signed")),
            ManifestSignature.UnknownKey => (null, IntegrityVerdict.Refuse(IntegrityReason.UnknownKey, $"the integrity manifest of {titleId} is signed by key id '{manifest.KeyId}', not a trusted origin key")),
            _ => (null, IntegrityVerdict.Refuse(IntegrityReason.BadSignature, $"the signature of the integrity manifest of {titleId} does not verify")),
        };
    }

    private sealed record Entry(IntegrityManifest? Manifest, IntegrityVerdict? Refusal, DateTimeOffset Expires);
}

/// <summary>Why an object was refused; the values are the <c>reason</c> label of <c>openconnect_appliance_integrity_refusals_total</c>.</summary>
public static class IntegrityReason
{
    public const string ManifestMissing = "manifest_missing";
    public const string ManifestUnavailable = "manifest_unavailable";
    public const string ManifestInvalid = "manifest_invalid";
    public const string Unsigned = "unsigned";
    public const string UnknownKey = "unknown_key";
    public const string BadSignature = "bad_signature";
    public const string Unlisted = "unlisted";
    public const string SizeMismatch = "size_mismatch";
    public const string HashMismatch = "hash_mismatch";
}

/// <summary>
/// The admission rule's answer for one object: <see cref="Expected"/> (check the body against it), a
/// refusal (<see cref="Reason"/> and <see cref="Detail"/>), or neither (admit unverified; test-only).
/// </summary>
public sealed record IntegrityVerdict(IntegrityEntry? Expected, string? Reason, string? Detail)
{
    public static readonly IntegrityVerdict Unverified = new(null, null, null);

    public bool Refused => Reason is not null;

    public static IntegrityVerdict Expect(IntegrityEntry entry) => new(entry, null, null);

    public static IntegrityVerdict Refuse(string reason, string detail) => new(null, reason, detail);
}
