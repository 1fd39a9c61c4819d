using System.Buffers;
using System.Text.Json;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Play;

/// <summary>A pathway the player did not get in its playlist/MPD, offered as a clone of the origin pathway.</summary>
/// <param name="Id">The new pathway id.</param>
/// <param name="Host">The <c>URI-REPLACEMENT</c> <c>HOST</c>.</param>
/// <param name="PerVariantUris">HLS: absolute URI per stable variant id (hls.js replaces only the host name, so a clone on another port needs these).</param>
/// <param name="PerRenditionUris">HLS: absolute URI per stable rendition id.</param>
public sealed record PathwayClone(string Id, string Host, IReadOnlyDictionary<string, string>? PerVariantUris, IReadOnlyDictionary<string, string>? PerRenditionUris);

/// <summary>
/// The Content Steering manifest (HLS and DASH-IF share the keys: <c>VERSION</c>, <c>TTL</c>,
/// <c>RELOAD-URI</c>, <c>PATHWAY-PRIORITY</c>, <c>PATHWAY-CLONES</c>), computed from a fresh decision.
/// </summary>
public static class SteeringManifest
{
    /// <summary>
    /// Orders the decision's pathways for a player that knows <paramref name="known"/> pathways and
    /// currently uses <paramref name="current"/>: a current pathway that is still offered stays
    /// first (no flapping between equally good appliances); pathways the player does not know become
    /// clones of the origin pathway; the origin stays last.
    /// </summary>
    public static (List<string> Priority, List<Pathway> ToClone, bool CurrentKept) Order(Decision decision, IReadOnlySet<string> known, string? current, bool currentStillEligible)
    {
        var priority = new List<string>();
        var toClone = new List<Pathway>();
        var kept = false;
        if (current is not null && current != SteeringDecisions.OriginPathwayId && known.Contains(current) && currentStillEligible)
        {
            priority.Add(current);
            kept = true;
        }

        foreach (var pathway in decision.Pathways)
        {
            if (priority.Contains(pathway.Id))
            {
                continue;
            }

            if (!known.Contains(pathway.Id))
            {
                if (pathway.ApplianceId is null)
                {
                    continue;
                }

                toClone.Add(pathway);
            }

            priority.Add(pathway.Id);
        }

        return (priority, toClone, kept);
    }

    public static byte[] Write(int ttlSeconds, string reloadUri, IReadOnlyList<string> priority, IReadOnlyList<PathwayClone> clones, string baseId)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("VERSION", 1);
            json.WriteNumber("TTL", ttlSeconds);
            json.WriteString("RELOAD-URI", reloadUri);
            json.WriteStartArray("PATHWAY-PRIORITY");
            foreach (var id in priority)
            {
                json.WriteStringValue(id);
            }

            json.WriteEndArray();
            if (clones.Count > 0)
            {
                json.WriteStartArray("PATHWAY-CLONES");
                foreach (var clone in clones)
                {
                    json.WriteStartObject();
                    json.WriteString("BASE-ID", baseId);
                    json.WriteString("ID", clone.Id);
                    json.WriteStartObject("URI-REPLACEMENT");
                    json.WriteString("HOST", clone.Host);
                    WriteMap(json, "PER-VARIANT-URIS", clone.PerVariantUris);
                    WriteMap(json, "PER-RENDITION-URIS", clone.PerRenditionUris);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads <c>_DASH_pathway</c> (a quoted, comma-separated list) or <c>_HLS_pathway</c> into ids.</summary>
    public static string[] ParseList(string? value) =>
        string.IsNullOrEmpty(value) ? [] : value.Trim('"').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void WriteMap(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null || map.Count == 0)
        {
            return;
        }

        json.WriteStartObject(name);
        foreach (var (key, value) in map)
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }
}
