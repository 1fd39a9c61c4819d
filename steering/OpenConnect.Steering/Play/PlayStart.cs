using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Play;

/// <summary>
/// The start set of a <c>/play/{title}?start=hls|dash</c> answer: the steered multivariant playlist or
/// MPD the player loads first (inline, the text <c>/play/{title}/master.m3u8</c> would return for this
/// session), then, on the first pathway, the start rendition's media playlist and the audio's (HLS,
/// inline), and the init and first media segments of each (URLs, for the page to fetch at once). Every
/// URL is the signed one the player itself would request, for this client only; nothing here is
/// cached across clients. A start set is an optimisation: whatever cannot be worked out is left out.
/// </summary>
internal static class PlayStart
{
    public static async Task<IReadOnlyList<StartResource>> BuildAsync(string protocol, string titleId, string manifestUrl, string steeringUri, Decision decision, OriginAnswer master, OriginCatalog catalog, long? hintBps, CancellationToken cancellationToken)
    {
        var first = decision.Pathways[0];
        var resources = new List<StartResource>();
        if (protocol == "hls")
        {
            if (HlsMultivariant.Parse(master.Text!) is not { } playlist)
            {
                return resources;
            }

            resources.Add(new StartResource(manifestUrl, Inline(playlist.Render(decision.Pathways, steeringUri, first.Id))));
            if (StartSet.HlsPlaylists(playlist, hintBps) is not { } choice)
            {
                return resources;
            }

            var (video, audio) = choice;
            var media = await Task.WhenAll(new[] { video, audio }.OfType<string>().Where(StartSet.IsPackagePath)
                .Select(async uri => (Uri: uri, Answer: await catalog.GetTextAsync(titleId, uri, cancellationToken)))).ConfigureAwait(false);
            foreach (var (uri, answer) in media)
            {
                if (answer is not { Status: OriginStatus.Found, Text: { } text })
                {
                    continue;
                }

                var playlistUrl = HlsMultivariant.Resolve(first.TitleBase, uri);
                resources.Add(new StartResource(playlistUrl, Inline(text)));
                var folder = uri.Contains('/', StringComparison.Ordinal) ? uri[..(uri.LastIndexOf('/') + 1)] : "";
                var (init, segment) = StartSet.HlsFirstFiles(text);
                foreach (var file in new[] { init, segment })
                {
                    if (file is not null && StartSet.IsPackagePath(folder + file))
                    {
                        resources.Add(new StartResource(HlsMultivariant.Resolve(first.TitleBase, folder + file)));
                    }
                }
            }

            return resources;
        }

        var mpd = await catalog.GetTextAsync(titleId, "manifest.mpd", cancellationToken).ConfigureAwait(false);
        if (mpd is not { Status: OriginStatus.Found, Text: { } origin }
            || DashManifest.Render(origin, decision.Pathways, steeringUri, first.Id, ClearKeyLicense.Url(decision)) is not { } steered)
        {
            return resources;
        }

        resources.Add(new StartResource(manifestUrl, Inline(steered)));
        foreach (var file in StartSet.DashFirstFiles(origin, hintBps))
        {
            if (StartSet.IsPackagePath(file))
            {
                resources.Add(new StartResource(HlsMultivariant.Resolve(first.TitleBase, file)));
            }
        }

        return resources;
    }

    private static string? Inline(string text) => text.Length <= StartSet.MaxInlineChars ? text : null;
}
