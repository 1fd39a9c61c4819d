using System.Security.Cryptography;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Upstream;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Security;
using Prometheus;

namespace OpenConnect.Appliance.Fill;

/// <summary>
/// One pass of the fill agent over the files of its manifest, within the appliance's rate cap.
/// Each file expands, through its title's integrity manifest, into the rendition's objects plus
/// the title-level objects (playlists, MPD, the integrity manifest itself). The delta is what the
/// SSD tier does not hold: held objects are only pinned, so an interrupted fill resumes where it
/// stopped. Each missing object is fetched from the file's sources in rank order; a source that
/// fails is tried last for the rest of the pass, and a body whose length or SHA-256 contradicts the
/// integrity manifest is rejected and the next source tried. Nothing is stored unless the title's
/// manifest is valid (signed by a trusted origin key when keys are configured) and the body matches
/// it; every refusal is counted in <c>openconnect_appliance_integrity_refusals_total{via="fill"}</c>.
/// </summary>
public sealed class FillPass(SegmentCache cache, SourceFetcher fetcher, FillMetrics metrics, Counter integrityRefusals, PublicKeyRing integrityKeys, long rateBytesPerSecond, TimeProvider time, ILogger logger)
{
    private const long MaxIntegrityManifestBytes = 16 << 20;

    private readonly HashSet<string> _failedSources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IntegrityManifest> _integrity = new(StringComparer.Ordinal);
    private readonly RatePacer _pacer = new(rateBytesPerSecond, time);

    public async Task<FileProgress> FillFileAsync(FillFile file, CancellationToken cancellationToken)
    {
        var progress = new FileProgress { Title = file.Title, Rendition = file.Rendition };
        var error = await FillCoreAsync(file, progress, cancellationToken).ConfigureAwait(false);
        await cache.SavePinsAsync(cancellationToken).ConfigureAwait(false);
        progress.State = error is null ? FileState.Done : FileState.Failed;
        progress.Reason = error ?? "";
        metrics.Files.WithLabels(error is null ? "done" : "failed").Inc();
        if (error is null)
        {
            FillLog.FileDone(logger, file.Title, file.Rendition, progress.Objects, progress.ObjectsFetched, progress.BytesFetched);
        }
        else
        {
            FillLog.FileFailed(logger, file.Title, file.Rendition, error);
        }

        return progress;
    }

    private async Task<string?> FillCoreAsync(FillFile file, FileProgress progress, CancellationToken cancellationToken)
    {
        if (!ContentKey.IsValidTitleId(file.Title) || !ContentKey.IsValidRendition(file.Rendition))
        {
            return $"'{file.Title}/{file.Rendition}' is not a valid title and rendition";
        }

        var sources = file.Sources.Where(s => Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https").ToList();
        if (sources.Count == 0)
        {
            return "the manifest gives no http(s) source";
        }

        var (integrity, integrityError) = await IntegrityAsync(file.Title, sources, progress, cancellationToken).ConfigureAwait(false);
        if (integrity is null)
        {
            return integrityError;
        }

        var prefix = file.Rendition + "/";
        var objects = integrity.Files
            .Where(f => !f.Key.Contains('/') || f.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .ToList();
        if (!objects.Any(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)))
        {
            return $"the integrity manifest of {file.Title} lists no objects of rendition {file.Rendition}";
        }

        foreach (var (relative, entry) in objects)
        {
            var path = $"/v/{file.Title}/{relative}";
            var error = await EnsureObjectAsync(path, entry.Size, Convert.FromHexString(entry.Sha256), sources, progress, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>The title's integrity manifest from the first source that serves a valid (and, with keys configured, signed) one; stored and pinned too.</summary>
    private async Task<(IntegrityManifest? Manifest, string? Error)> IntegrityAsync(string title, List<string> sources, FileProgress progress, CancellationToken cancellationToken)
    {
        if (_integrity.TryGetValue(title, out var known))
        {
            return (known, null);
        }

        var path = IntegrityManifest.PathFor(title);
        var errors = new List<string>();
        foreach (var source in Ordered(sources))
        {
            var result = await fetcher.GetAsync(source, path, expectedLength: -1, MaxIntegrityManifestBytes, cancellationToken).ConfigureAwait(false);
            if (result.Body is not { } body)
            {
                SourceFailed(source, path, result.Error!, integrity: false, errors);
                continue;
            }

            var (manifest, refusal) = IntegrityCatalog.Judge(title, body, integrityKeys);
            if (manifest is null)
            {
                Refused(refusal!.Reason!);
                SourceFailed(source, path, refusal.Detail!, integrity: true, errors);
                progress.IntegrityRejects++;
                continue;
            }

            var error = await KeepAsync(source, path, body, SHA256.HashData(body), result, progress, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return (null, error);
            }

            _integrity[title] = manifest;
            return (manifest, null);
        }

        if (progress.IntegrityRejects == 0)
        {
            Refused(IntegrityReason.ManifestUnavailable);
        }

        return (null, $"no source served a valid integrity manifest of {title} ({string.Join("; ", errors)})");
    }

    /// <summary>Makes sure the SSD tier holds the object, pinned: already held costs nothing, otherwise the first source with matching bytes wins.</summary>
    private async Task<string?> EnsureObjectAsync(string path, long size, byte[] sha256, List<string> sources, FileProgress progress, CancellationToken cancellationToken)
    {
        progress.Objects++;
        var key = KeyHash.Of(path);
        switch (cache.PinHeld(key, size, sha256))
        {
            case PinOutcome.Pinned:
                metrics.Objects.WithLabels("held").Inc();
                return null;
            case PinOutcome.OverCapacity:
                metrics.Objects.WithLabels("failed").Inc();
                return cache.PinCapacityError(path);
        }

        var errors = new List<string>();
        foreach (var source in Ordered(sources))
        {
            var result = await fetcher.GetAsync(source, path, size, size, cancellationToken).ConfigureAwait(false);
            if (result.Body is not { } body)
            {
                SourceFailed(source, path, result.Error!, result.Mismatch, errors);
                if (result.Mismatch)
                {
                    Refused(IntegrityReason.SizeMismatch);
                    progress.IntegrityRejects++;
                }

                continue;
            }

            if (!SHA256.HashData(body).AsSpan().SequenceEqual(sha256))
            {
                Refused(IntegrityReason.HashMismatch);
                SourceFailed(source, path, "SHA-256 differs from the integrity manifest", integrity: true, errors);
                progress.IntegrityRejects++;
                continue;
            }

            return await KeepAsync(source, path, body, sha256, result, progress, cancellationToken).ConfigureAwait(false);
        }

        metrics.Objects.WithLabels("failed").Inc();
        return $"no source could provide {path} ({string.Join("; ", errors)})";
    }

    /// <summary>
    /// Writes a verified body to the SSD tier (which takes <paramref name="sha256"/> rather than hashing it
    /// again), pins it and paces the pass to the rate cap.
    /// </summary>
    private async Task<string?> KeepAsync(string source, string path, byte[] body, byte[] sha256, SourceResult result, FileProgress progress, CancellationToken cancellationToken)
    {
        var key = KeyHash.Of(path);
        var etag = result.ETag ?? $"\"{Convert.ToHexStringLower(sha256.AsSpan(0, 8))}\"";
        var written = await cache.StoreFilledAsync(key, path, body, sha256, ContentTypes.For(path.AsSpan(path.LastIndexOf('/') + 1)), etag, result.LastModified ?? time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (!written.Ok)
        {
            metrics.Objects.WithLabels("failed").Inc();
            return written.Error;
        }

        progress.ObjectsFetched++;
        progress.BytesFetched += body.LongLength;
        metrics.Objects.WithLabels("fetched").Inc();
        metrics.Bytes.Inc(body.LongLength);
        metrics.SourceBytes.WithLabels(source).Inc(body.LongLength);
        await _pacer.AddAsync(body.LongLength, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>The file's sources in rank order, those that failed earlier in this pass last.</summary>
    private IEnumerable<string> Ordered(List<string> sources) =>
        sources.Where(s => !_failedSources.Contains(s)).Concat(sources.Where(_failedSources.Contains)).ToList();

    private void Refused(string reason) => integrityRefusals.WithLabels(reason, "fill").Inc();

    private void SourceFailed(string source, string path, string reason, bool integrity, List<string> errors)
    {
        if (!integrity)
        {
            _failedSources.Add(source);
        }

        metrics.SourceFailures.WithLabels(integrity ? "integrity" : "error").Inc();
        FillLog.SourceFailed(logger, source, path, reason);
        errors.Add($"{source}: {reason}");
    }
}
