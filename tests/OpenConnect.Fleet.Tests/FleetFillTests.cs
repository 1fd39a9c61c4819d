using System.Text.Json;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// The night fill on the bed: the operator opens site A's window on the fill controller, both
/// site-A appliances fetch their manifests and fill, and where each copy came from is read back
/// from the manifests the appliances hold (ranked sources) and from the peers' access logs (which
/// appliance fetched which <c>/v/…</c> object from which). Each test publishes a title of its own,
/// so no appliance holds it before the fill.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetFillTests(FleetFixture fleet)
{
    private const string Site = "site-a";

    private const string SimultaneousFillFinding = "Finding (see notes/bed-tests.md): a site's first fill of a title copies it from the origin to every appliance at once. " +
        "SourceRanking ranks only appliances that reported the file DONE when the site opens, and the manifests are not reissued as copies complete, " +
        "so with no holder at open time every manifest lists the origin alone. Not a bed-wiring problem (fill controller behaviour).";

    private FleetBed Bed => fleet.Bed;

    [FleetFact(Skip = SimultaneousFillFinding)]
    public async Task ANightFill_CopiesANewTitleFromTheOriginOnce_AndTheSecondCopyFromTheSameSitePeer()
    {
        await fleet.ResetAsync();
        var title = await fleet.PublishNewTitleAsync();
        await OpenSiteAsync();
        var status = await WaitUntilFilledAsync(title, copies => copies.Complete == copies.Planned);
        Assert.Equal(["a1", "a2"], status.Appliances);

        // Every rendition placed twice: one appliance fetched it from the origin, the other from that appliance.
        var manifests = FleetLaunch.Sites[Site].Appliances.ToDictionary(id => id, id => Files(id, title));
        var twice = manifests["a1"].Keys.Intersect(manifests["a2"].Keys).ToList();
        Assert.NotEmpty(twice);
        var evidence = await EvidenceAsync(title, manifests);
        foreach (var rendition in twice)
        {
            var fromPeer = FleetLaunch.Sites[Site].Appliances.Where(id =>
                manifests[id][rendition].Sources.FirstOrDefault() == PeerUrl(id)
                && evidence.PeerObjects[id].GetValueOrDefault(rendition) >= PublishedObjects(title, rendition)).ToList();
            Assert.True(fromPeer.Count == 1, $"rendition {rendition} of {title}: expected exactly one site-A appliance to fill it from its peer, got [{string.Join(", ", fromPeer)}]; {evidence.Text}");
        }
    }

    [FleetFact]
    public async Task ACopyFilledAfterItsPeerHoldsTheFile_IsFetchedFromThatSameSitePeer_NotTheOrigin()
    {
        await fleet.ResetAsync();
        var title = await fleet.PublishNewTitleAsync();

        // a2 is off when the site opens (silent longer than the bed's FillController:Fill:RosterMaxSilence,
        // so it is left out of the placement): a1 fills the title from the origin (nobody holds it yet).
        await Bed.StopApplianceAsync("a2");
        var stopped = DateTime.UtcNow;
        await Bed.WaitForEligibleAppliancesAsync(Bed.Appliances.Count - 1);
        var silence = FleetLaunch.FillRosterMaxSilence + TimeSpan.FromSeconds(1) - (DateTime.UtcNow - stopped);
        if (silence > TimeSpan.Zero)
        {
            await Task.Delay(silence);
        }

        await OpenSiteAsync();
        await FleetBed.WaitUntilAsync("a1 holds the manifest of the title", TimeSpan.FromSeconds(30), () => Task.FromResult(Files("a1", title) is { Count: > 0 } files ? files : null));
        var a1Files = Files("a1", title);
        Assert.All(a1Files.Values, f => Assert.Equal(OriginSources, f.Sources));
        var first = await WaitUntilFilledAsync(title, copies => copies.Complete == copies.Planned);
        Assert.Equal(["a1"], first.Appliances);
        Assert.Equal(a1Files.Count, first.Planned);

        // a2 is back and the site is opened again: a1 now holds every file, so a2's manifest ranks a1 first.
        await Bed.RestartApplianceAsync("a2");
        await Bed.WaitForEligibleAppliancesAsync(Bed.Appliances.Count);
        await OpenSiteAsync();
        var status = await WaitUntilFilledAsync(title, copies => copies.Complete == copies.Planned && copies.Planned > a1Files.Count);
        Assert.Equal(["a1", "a2"], status.Appliances);

        var manifests = FleetLaunch.Sites[Site].Appliances.ToDictionary(id => id, id => Files(id, title));
        var evidence = await EvidenceAsync(title, manifests);
        Assert.NotEmpty(manifests["a2"]);
        foreach (var (rendition, file) in manifests["a2"])
        {
            Assert.True(file.Sources.Count >= 2 && file.Sources[0] == PeerUrl("a2") && file.Sources[^1] == OriginSources[0], $"a2's sources for {rendition}: [{string.Join(", ", file.Sources)}]; {evidence.Text}");
            // Every object of the rendition came from a1: its access log shows a2 fetching each one.
            var objects = PublishedObjects(title, rendition);
            Assert.True(evidence.PeerObjects["a2"].GetValueOrDefault(rendition) >= objects, $"a1 served a2 {evidence.PeerObjects["a2"].GetValueOrDefault(rendition)} of the {objects} objects of {rendition}; {evidence.Text}");
        }

        // a1 filled from the origin only: a2 was off, and nothing else holds the title.
        Assert.Empty(evidence.PeerObjects["a1"]);
    }

    private string[] OriginSources => [Bed.Origin.BaseUrl];

    private static string Peer(string id) => FleetLaunch.Sites[Site].Appliances.Single(a => a != id);

    /// <summary>The URL steering's roster (and so the fill controller) gives for <paramref name="id"/>'s peer.</summary>
    private string PeerUrl(string id) => Bed.Host(Peer(id)).Url(FleetLaunch.AppliancePort);

    private async Task OpenSiteAsync()
    {
        var (status, body) = await Bed.FillOperatorAsync("POST", $"/fill/sites/{Site}/open");
        Assert.True(status == 200, $"opening {Site}'s fill answered {status}: {body}\n{Bed.FillController.Tail(15)}");
        using var answer = JsonDocument.Parse(body);
        Assert.True(answer.RootElement.GetProperty("collected").GetBoolean(), $"the fill controller could not collect play history and titles: {body}");
    }

    private sealed record TitleCopies(int Planned, int Complete, int Failed, List<string> Appliances);

    /// <summary>Polls the site's fill status (at most 120 s) until <paramref name="done"/> holds for the title's copies; fails at once on a failed copy.</summary>
    private async Task<TitleCopies> WaitUntilFilledAsync(string title, Func<TitleCopies, bool> done)
    {
        TitleCopies? last = null;
        try
        {
            return await FleetBed.WaitUntilAsync($"{Site}'s fill of {title} completes", TimeSpan.FromSeconds(120), async () =>
            {
                var (status, body) = await Bed.FillOperatorAsync("GET", $"/fill/sites/{Site}");
                Assert.True(status == 200, $"{Site}'s fill status answered {status}: {body}");
                using var json = JsonDocument.Parse(body);
                var entry = json.RootElement.GetProperty("titles").EnumerateArray().FirstOrDefault(t => t.GetProperty("title").GetString() == title);
                if (entry.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                last = new TitleCopies(entry.GetProperty("copiesPlanned").GetInt32(), entry.GetProperty("copiesComplete").GetInt32(), entry.GetProperty("copiesFailed").GetInt32(),
                    [.. entry.GetProperty("appliances").EnumerateArray().Select(a => a.GetString()!)]);
                Assert.True(last.Failed == 0, $"a copy of {title} failed: {body}\n{Bed.Appliances["a1"].Tail(10)}\n{Bed.Appliances["a2"].Tail(10)}");
                return done(last) ? last : null;
            });
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last status {last}\n-- a1:\n{Bed.Appliances["a1"].Tail(10)}\n-- a2:\n{Bed.Appliances["a2"].Tail(10)}", ex);
        }
    }

    /// <summary>The files of <paramref name="title"/> in the fill manifest appliance <paramref name="id"/> holds (its <c>{cache}/fill/manifest.bin</c>), by rendition.</summary>
    private Dictionary<string, FillFile> Files(string id, string title)
    {
        var file = Path.Combine(Bed.State.Combine(id), "fill", "manifest.bin");
        if (!File.Exists(file))
        {
            return [];
        }

        return ManifestCodec.Decode(File.ReadAllBytes(file)).Files.Where(f => f.Title == title).ToDictionary(f => f.Rendition, f => f);
    }

    /// <summary>Objects of a rendition as published: what a complete copy of it holds.</summary>
    private int PublishedObjects(string title, string rendition) =>
        Directory.GetFiles(Path.Combine(Bed.PublishedDirectory, title, rendition)).Length;

    private sealed record Evidence(Dictionary<string, Dictionary<string, int>> PeerObjects, string Text);

    /// <summary>
    /// For each site-A appliance, the objects of <paramref name="title"/> it fetched from its peer, by
    /// rendition (the peer's access log: GET <c>/v/{title}/{rendition}/…</c> answered 200 to its
    /// address), and a description of everything seen, for failure messages.
    /// </summary>
    private async Task<Evidence> EvidenceAsync(string title, Dictionary<string, Dictionary<string, FillFile>> manifests)
    {
        var prefix = $"/v/{title}/";
        var peerObjects = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var text = new System.Text.StringBuilder();
        foreach (var id in FleetLaunch.Sites[Site].Appliances)
        {
            var address = Bed.Host(id).Ipv4;
            var served = (await FleetAccessLog.ReadAsync(Bed, Peer(id)))
                .Where(e => e.Client == address && e.Method == "GET" && e.Status == 200 && e.Path.StartsWith(prefix, StringComparison.Ordinal))
                .ToList();
            peerObjects[id] = served
                .Select(e => e.Path[prefix.Length..])
                .Where(p => p.Contains('/'))
                .GroupBy(p => p[..p.IndexOf('/')], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
            var metrics = await Bed.CurlAsync(id, Bed.Appliances[id].ManagementUrl + "/metrics");
            var fillBytes = string.Join(' ', metrics.Body.Split('\n').Where(l => l.StartsWith("openconnect_appliance_fill_", StringComparison.Ordinal) && !l.Contains("pinned", StringComparison.Ordinal)));
            text.Append($"[{id}: manifest sources {{{string.Join("; ", manifests[id].Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value.Sources)}"))}}}, ")
                .Append($"objects fetched from {Peer(id)}: {served.Count} ({string.Join(", ", peerObjects[id].Select(kv => $"{kv.Key}={kv.Value}"))}), ")
                .Append($"fill metrics: {fillBytes}] ");
        }

        return new Evidence(peerObjects, text.ToString());
    }
}
