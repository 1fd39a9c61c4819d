using System.Text.Json;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// The night fill on the bed: the operator opens site A's window on the fill controller, both
/// site-A appliances fetch their manifests and fill over fleet TLS (peers' parent listeners, the
/// origin's fleet parent listener), and where each copy came from is read back from the manifests
/// the appliances hold (ranked sources) and from each appliance's fill bytes by source
/// (<c>openconnect_appliance_fill_source_bytes_total{source}</c>). Each test publishes a title of its
/// own, so no appliance holds it before the fill.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetFillTests(FleetFixture fleet)
{
    private const string Site = "site-a";

    private FleetBed Bed => fleet.Bed;

    [FleetFact]
    public async Task ANightFill_CopiesANewTitleFromTheOriginOnce_AndTheSecondCopyFromTheSameSitePeer()
    {
        await fleet.ResetAsync();
        var title = await fleet.PublishNewTitleAsync();
        var before = await SourceBytesAsync();
        await OpenSiteAsync();
        var status = await WaitUntilFilledAsync(title, copies => copies.Complete == copies.Planned);
        Assert.Equal(["a1", "a2"], status.Appliances);

        // Every rendition placed twice: one appliance fetched it from the origin (its manifest names the
        // origin alone), the other, once that copy was DONE, from that appliance's parent listener.
        var manifests = FleetLaunch.Sites[Site].Appliances.ToDictionary(id => id, id => Files(id, title));
        var twice = manifests["a1"].Keys.Intersect(manifests["a2"].Keys).ToList();
        Assert.NotEmpty(twice);
        var evidence = await EvidenceAsync(manifests, before);
        foreach (var rendition in twice)
        {
            var fromPeer = FleetLaunch.Sites[Site].Appliances.Where(id => manifests[id][rendition].Sources.FirstOrDefault() == PeerUrl(id)).ToList();
            Assert.True(fromPeer.Count == 1, $"rendition {rendition} of {title}: expected exactly one site-A appliance to fill it from its peer, got [{string.Join(", ", fromPeer)}]; {evidence.Text}");
            Assert.Equal(OriginSources, manifests[Peer(fromPeer[0])][rendition].Sources);
        }

        // Bytes: each appliance took at least the whole of its peer-first renditions from the peer, and the
        // origin sent each rendition once (the title-level files, small, at most once per appliance).
        foreach (var id in FleetLaunch.Sites[Site].Appliances)
        {
            var peerFirst = manifests[id].Where(kv => kv.Value.Sources[0] == PeerUrl(id)).Select(kv => kv.Key).ToList();
            Assert.True(evidence.FromPeer[id] >= peerFirst.Sum(r => PublishedBytes(title, r)), $"{id} took {evidence.FromPeer[id]} bytes from its peer for [{string.Join(", ", peerFirst)}] ({peerFirst.Sum(r => PublishedBytes(title, r))} published); {evidence.Text}");
        }

        var placed = manifests.Values.SelectMany(m => m.Keys).Distinct(StringComparer.Ordinal).Sum(r => PublishedBytes(title, r));
        var fromOrigin = evidence.FromOrigin.Values.Sum();
        Assert.True(fromOrigin <= placed + (2 * PublishedBytes(title, rendition: null)), $"the origin sent {fromOrigin} bytes for {placed} bytes of placed renditions; {evidence.Text}");
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
        var before = await SourceBytesAsync();
        await OpenSiteAsync();
        var status = await WaitUntilFilledAsync(title, copies => copies.Complete == copies.Planned && copies.Planned > a1Files.Count);
        Assert.Equal(["a1", "a2"], status.Appliances);

        var manifests = FleetLaunch.Sites[Site].Appliances.ToDictionary(id => id, id => Files(id, title));
        var evidence = await EvidenceAsync(manifests, before);
        Assert.NotEmpty(manifests["a2"]);
        foreach (var (rendition, file) in manifests["a2"])
        {
            Assert.True(file.Sources.Count >= 2 && file.Sources[0] == PeerUrl("a2") && file.Sources[^1] == OriginSources[0], $"a2's sources for {rendition}: [{string.Join(", ", file.Sources)}]; {evidence.Text}");
        }

        // Every byte of a2's renditions came from a1's parent listener, none from the origin.
        var a2Bytes = manifests["a2"].Keys.Sum(r => PublishedBytes(title, r));
        Assert.True(evidence.FromPeer["a2"] >= a2Bytes, $"a1 served a2 {evidence.FromPeer["a2"]} of the {a2Bytes} bytes of its renditions; {evidence.Text}");
        Assert.True(evidence.FromOrigin["a2"] == 0, $"a2 fetched {evidence.FromOrigin["a2"]} bytes from the origin; {evidence.Text}");

        // a1 took nothing from a2 (its copy was complete; earlier, a2 was off).
        Assert.Equal(0, evidence.FromPeer["a1"]);
    }

    /// <summary>The origin as manifests name it: its fleet parent listener (FillController:Fill:OriginParentUrl).</summary>
    private string[] OriginSources => [Bed.Host("origin").SecureUrl(FleetLaunch.OriginParentPort)];

    private static string Peer(string id) => FleetLaunch.Sites[Site].Appliances.Single(a => a != id);

    /// <summary>The URL steering's roster (and so the fill controller) gives for <paramref name="id"/>'s peer: its parent listener (fleet TLS).</summary>
    private string PeerUrl(string id) => Bed.Host(Peer(id)).SecureUrl(FleetLaunch.ApplianceParentPort);

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

    /// <summary>Bytes of a rendition as published (what a complete copy of it holds), or of the title-level files when <paramref name="rendition"/> is null.</summary>
    private long PublishedBytes(string title, string? rendition) =>
        Directory.GetFiles(rendition is null ? Path.Combine(Bed.PublishedDirectory, title) : Path.Combine(Bed.PublishedDirectory, title, rendition)).Sum(f => new FileInfo(f).Length);

    private sealed record Evidence(Dictionary<string, double> FromPeer, Dictionary<string, double> FromOrigin, string Text);

    /// <summary>Each site-A appliance's fill bytes so far (its counters run across tests): (from its peer, from the origin, the metrics text).</summary>
    private async Task<Dictionary<string, (double FromPeer, double FromOrigin, string Text)>> SourceBytesAsync()
    {
        var bytes = new Dictionary<string, (double, double, string)>(StringComparer.Ordinal);
        foreach (var id in FleetLaunch.Sites[Site].Appliances)
        {
            var metrics = await Bed.CurlAsync(id, Bed.Appliances[id].ManagementUrl + "/metrics");
            var parsed = PrometheusText.Parse(metrics.Body);
            var fill = string.Join(' ', metrics.Body.Split('\n').Where(l => l.StartsWith("openconnect_appliance_fill_", StringComparison.Ordinal) && !l.Contains("pinned", StringComparison.Ordinal)));
            bytes[id] = (parsed.Value("openconnect_appliance_fill_source_bytes_total", ("source", PeerUrl(id))) ?? 0,
                parsed.Value("openconnect_appliance_fill_source_bytes_total", ("source", OriginSources[0])) ?? 0, fill);
        }

        return bytes;
    }

    /// <summary>
    /// For each site-A appliance, the fill bytes it fetched from its peer and from the origin since
    /// <paramref name="before"/> (its <c>openconnect_appliance_fill_source_bytes_total{source}</c>), and a
    /// description of everything seen, for failure messages.
    /// </summary>
    private async Task<Evidence> EvidenceAsync(Dictionary<string, Dictionary<string, FillFile>> manifests, Dictionary<string, (double FromPeer, double FromOrigin, string Text)> before)
    {
        var now = await SourceBytesAsync();
        var fromPeer = now.ToDictionary(kv => kv.Key, kv => kv.Value.FromPeer - before[kv.Key].FromPeer, StringComparer.Ordinal);
        var fromOrigin = now.ToDictionary(kv => kv.Key, kv => kv.Value.FromOrigin - before[kv.Key].FromOrigin, StringComparer.Ordinal);
        var text = new System.Text.StringBuilder();
        foreach (var id in FleetLaunch.Sites[Site].Appliances)
        {
            text.Append($"[{id}: manifest sources {{{string.Join("; ", manifests[id].Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value.Sources)}"))}}}, ")
                .Append($"bytes this test from {Peer(id)} {fromPeer[id]}, from the origin {fromOrigin[id]}, fill metrics: {now[id].Text}] ");
        }

        return new Evidence(fromPeer, fromOrigin, text.ToString());
    }
}
