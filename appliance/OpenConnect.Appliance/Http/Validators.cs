using System.Globalization;
using System.Text;

namespace OpenConnect.Appliance.Http;

public enum ConditionalOutcome : byte
{
    /// <summary>Serve the representation (200 or 206).</summary>
    Serve,
    /// <summary>The client's copy is current: 304.</summary>
    NotModified,
}

/// <summary>Conditional request evaluation for GET/HEAD (RFC 9110 §13): ETag and Last-Modified validators.</summary>
public static class Validators
{
    /// <summary>If-None-Match (weak comparison) wins over If-Modified-Since, which is evaluated only without it.</summary>
    public static ConditionalOutcome Evaluate(ReadOnlySpan<byte> ifNoneMatch, ReadOnlySpan<byte> ifModifiedSince, string etag, DateTimeOffset lastModified)
    {
        if (!ifNoneMatch.IsEmpty)
        {
            return EtagListMatches(ifNoneMatch, etag, weak: true) ? ConditionalOutcome.NotModified : ConditionalOutcome.Serve;
        }

        if (!ifModifiedSince.IsEmpty && TryParseHttpDate(ifModifiedSince, out var since) && TruncateToSeconds(lastModified) <= since)
        {
            return ConditionalOutcome.NotModified;
        }

        return ConditionalOutcome.Serve;
    }

    /// <summary>
    /// If-Range: the Range applies only when the validator matches the current representation: a strong
    /// ETag match, or a date equal to Last-Modified. Otherwise the whole object is sent (200).
    /// </summary>
    public static bool IfRangeAllowsRange(ReadOnlySpan<byte> ifRange, string etag, DateTimeOffset lastModified)
    {
        if (ifRange.IsEmpty)
        {
            return true;
        }

        if (ifRange[0] == '"' || ifRange.StartsWith("W/"u8))
        {
            return !ifRange.StartsWith("W/"u8) && !etag.StartsWith("W/", StringComparison.Ordinal) && Ascii.Equals(ifRange, etag);
        }

        return TryParseHttpDate(ifRange, out var date) && date == TruncateToSeconds(lastModified);
    }

    public static bool EtagListMatches(ReadOnlySpan<byte> list, string etag, bool weak)
    {
        var current = Opaque(etag);
        foreach (var range in list.Split((byte)','))
        {
            var candidate = list[range].Trim(" \t"u8);
            if (candidate.Length == 1 && candidate[0] == '*')
            {
                return true;
            }

            if (candidate.StartsWith("W/"u8))
            {
                if (!weak)
                {
                    continue;
                }

                candidate = candidate[2..];
            }

            if (Ascii.Equals(candidate, current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>IMF-fixdate, e.g. <c>Sun, 06 Nov 1994 08:49:37 GMT</c> (the form every client sends).</summary>
    public static bool TryParseHttpDate(ReadOnlySpan<byte> value, out DateTimeOffset date)
    {
        date = default;
        if (value.Length > 64)
        {
            return false;
        }

        Span<char> chars = stackalloc char[value.Length];
        if (Encoding.ASCII.GetChars(value, chars) != value.Length)
        {
            return false;
        }

        return DateTimeOffset.TryParseExact(chars, "r", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out date);
    }

    public static string FormatHttpDate(DateTimeOffset date) => date.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    public static DateTimeOffset TruncateToSeconds(DateTimeOffset value) => new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), value.Offset);

    private static ReadOnlySpan<char> Opaque(string etag) => etag.StartsWith("W/", StringComparison.Ordinal) ? etag.AsSpan(2) : etag;
}
