using System.Net.Http.Headers;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// Content that fetches bytes on demand (a remote store's object) and can ask for exactly a range's
/// bytes when it learns the range before its first read, instead of everything from the range's
/// start to the object's end.
/// </summary>
public interface IByteRangeHint
{
    /// <summary>The next read from <paramref name="from"/> is expected to stop after <paramref name="to"/> (inclusive).</summary>
    void ExpectRange(long from, long to);
}

/// <summary>The byte range a request will be served, as HTTP range math decides it.</summary>
public static class ByteRangeRequest
{
    /// <summary>
    /// The one range a <c>Range</c> header asks of an object of <paramref name="length"/> bytes
    /// (first and last byte, inclusive), or null when there is none to serve as one range: no
    /// header, not bytes, several ranges (served whole) or unsatisfiable (416).
    /// </summary>
    public static (long From, long To)? Single(string? header, long length)
    {
        if (string.IsNullOrEmpty(header) || length <= 0 || !RangeHeaderValue.TryParse(header, out var parsed)
            || parsed.Unit != "bytes" || parsed.Ranges.Count != 1)
        {
            return null;
        }

        var range = parsed.Ranges.First();
        if (range.From is { } from)
        {
            var to = Math.Min(range.To ?? long.MaxValue, length - 1);
            return from < length && from <= to ? (from, to) : null;
        }

        return range.To is > 0 and { } suffix ? (Math.Max(0, length - suffix), length - 1) : null;
    }
}
