using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace OpenConnect.Appliance.Serving;

/// <summary>One served request, as the access log records it.</summary>
/// <param name="Time">When the response was done.</param>
/// <param name="Client">The client's address.</param>
/// <param name="Method">GET, HEAD, OPTIONS or OTHER.</param>
/// <param name="Target">The content path (a playback token is never logged), or <c>-</c> for anything else.</param>
/// <param name="Status">The response status.</param>
/// <param name="Bytes">Body bytes sent.</param>
/// <param name="Cache">How the cache served it: <c>ram</c>, <c>ssd</c>, <c>miss</c>, or <c>-</c> when the cache was not consulted.</param>
/// <param name="Duration">From the complete request head to the last byte handed to the kernel.</param>
/// <param name="Caller">The fleet identity of a pull on the parent listener (its client certificate's <c>openconnect://</c> URI); null on the data path.</param>
public readonly record struct AccessEntry(DateTimeOffset Time, IPAddress? Client, string Method, string Target, int Status, long Bytes, string Cache, TimeSpan Duration, string? Caller = null);

/// <summary>The access log's line formats: nginx's <c>combined</c> and one JSON object per line.</summary>
public static class AccessLogFormat
{
    public const string Combined = "combined";
    public const string Json = "json";

    public static bool IsKnown(string format) => format is Combined or Json;

    /// <summary>The <c>cache</c> field (and the metrics' tier label) for how the cache served a request.</summary>
    public static string CacheLabel(Caching.CacheTier tier) => tier switch
    {
        Caching.CacheTier.Ram => "ram",
        Caching.CacheTier.Ssd => "ssd",
        _ => "miss",
    };

    /// <summary>
    /// nginx <c>combined</c>: <c>addr - - [06/Dec/2026:23:33:21 +0000] "GET /v/t/r/a.m4s HTTP/1.1" 200 1234 "-" "-"</c>.
    /// Referer and User-Agent are not kept by the segment server's parser, so they are always <c>-</c>.
    /// A pull on the parent listener names its caller's fleet identity as the remote user
    /// (<c>addr - openconnect://appliance/site/id [...]</c>).
    /// </summary>
    public static string FormatCombined(in AccessEntry entry)
    {
        var line = new StringBuilder(128);
        line.Append(entry.Client?.ToString() ?? "-").Append(" - ");
        AppendEscaped(line, entry.Caller ?? "-");
        line.Append(" [")
            .Append(entry.Time.ToString("dd/MMM/yyyy:HH:mm:ss ", CultureInfo.InvariantCulture))
            .Append(entry.Time.Offset < TimeSpan.Zero ? '-' : '+')
            .Append(entry.Time.Offset.ToString("hhmm", CultureInfo.InvariantCulture))
            .Append("] \"").Append(entry.Method).Append(' ');
        AppendEscaped(line, entry.Target);
        line.Append(" HTTP/1.1\" ")
            .Append(entry.Status.ToString(CultureInfo.InvariantCulture)).Append(' ')
            .Append(entry.Bytes.ToString(CultureInfo.InvariantCulture))
            .Append(" \"-\" \"-\"");
        return line.ToString();
    }

    /// <summary>One JSON object: time (ISO 8601), client, method, path, status, bytes, cache, seconds, caller (null on the data path).</summary>
    public static string FormatJson(in AccessEntry entry)
    {
        using var buffer = new MemoryStream(192);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", entry.Time);
            json.WriteString("client", entry.Client?.ToString());
            json.WriteString("method", entry.Method);
            json.WriteString("path", entry.Target);
            json.WriteNumber("status", entry.Status);
            json.WriteNumber("bytes", entry.Bytes);
            json.WriteString("cache", entry.Cache);
            json.WriteNumber("seconds", Math.Round(entry.Duration.TotalSeconds, 6));
            json.WriteString("caller", entry.Caller);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void AppendEscaped(StringBuilder line, string value)
    {
        foreach (var c in value)
        {
            if (c is '"' or '\\' || c < 0x20 || c > 0x7e)
            {
                line.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                line.Append(c);
            }
        }
    }
}
