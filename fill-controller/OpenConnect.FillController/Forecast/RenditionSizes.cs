using System.Net;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Content;
using OpenConnect.FillController.Discovery;
using OpenConnect.FillController.History;

namespace OpenConnect.FillController.Forecast;

/// <summary>
/// Bytes of each rendition of a title, summed from the origin's integrity manifest
/// (<c>/v/{title}/integrity.json</c>) and kept in the popularity store for
/// <see cref="ForecastOptions.SizesLifetime"/>. Title-level objects (playlists, the manifest
/// itself) belong to no rendition and are not counted.
/// </summary>
public sealed class RenditionSizes(IHttpClientFactory httpFactory, ServiceDirectory directory, PopularityStore store, TimeProvider time, IOptions<FillControllerOptions> options)
{
    private readonly HttpClient _http = httpFactory.CreateClient(PopularityCollector.HttpClientName);

    /// <summary>Rendition name → bytes, or null when the origin has no manifest for the title.</summary>
    public async ValueTask<IReadOnlyDictionary<string, long>?> GetAsync(string title, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var cached = store.RenditionBytes(title, now - options.Value.Forecast.SizesLifetime);
        if (cached is not null)
        {
            return cached;
        }

        await directory.Resolved.WaitAsync(cancellationToken).ConfigureAwait(false);
        var origin = directory.Origin ?? throw new InvalidOperationException("the origin's address is not resolved");
        using var response = await _http.GetAsync(new Uri(origin, IntegrityManifest.PathFor(title)), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        var manifest = await response.Content.ReadFromJsonAsync<IntegrityManifest>(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"the origin's integrity manifest of '{title}' is empty");
        var sizes = Sum(manifest);
        store.SaveRenditionBytes(title, sizes, now);
        return sizes;
    }

    /// <summary>Sums the manifest's entries per rendition directory (<c>720p/seg-1.m4s</c> → <c>720p</c>).</summary>
    public static Dictionary<string, long> Sum(IntegrityManifest manifest)
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (path, entry) in manifest.Files)
        {
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0)
            {
                var rendition = path[..slash];
                sizes[rendition] = sizes.GetValueOrDefault(rendition) + entry.Size;
            }
        }

        return sizes;
    }
}
