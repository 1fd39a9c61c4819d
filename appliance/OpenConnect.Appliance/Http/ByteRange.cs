using System.Buffers.Text;

namespace OpenConnect.Appliance.Http;

public enum RangeKind : byte
{
    /// <summary>No Range header, or one the server ignores (another unit, several ranges, bad syntax): serve 200.</summary>
    None,
    /// <summary>One satisfiable byte range: serve 206.</summary>
    Satisfiable,
    /// <summary>A well-formed byte range that lies outside the object: serve 416 with <c>Content-Range: bytes */len</c>.</summary>
    Unsatisfiable,
}

/// <summary>A single byte range resolved against an object's length (RFC 9110 §14).</summary>
public readonly record struct ByteRange(RangeKind Kind, long Start, long Length)
{
    public long End => Start + Length - 1;

    public static readonly ByteRange None = new(RangeKind.None, 0, 0);

    /// <summary>
    /// Resolves <c>bytes=a-b</c>, <c>bytes=a-</c> and <c>bytes=-n</c> against <paramref name="length"/>.
    /// Several ranges are served as a whole 200 (allowed by RFC 9110 §14.2): players ask for one range.
    /// </summary>
    public static ByteRange Parse(ReadOnlySpan<byte> header, long length)
    {
        if (header.IsEmpty)
        {
            return None;
        }

        if (header.Length < 6 || !System.Text.Ascii.EqualsIgnoreCase(header[..6], "bytes="u8))
        {
            return None;
        }

        var spec = header[6..].Trim(" \t"u8);
        if (spec.Contains((byte)','))
        {
            return None;
        }

        var dash = spec.IndexOf((byte)'-');
        if (dash < 0)
        {
            return None;
        }

        var first = spec[..dash];
        var last = spec[(dash + 1)..];
        if (first.IsEmpty)
        {
            // Suffix range: the last n bytes.
            if (!TryParseNumber(last, out var suffix))
            {
                return None;
            }

            if (suffix == 0 || length == 0)
            {
                return new ByteRange(RangeKind.Unsatisfiable, 0, 0);
            }

            var n = Math.Min(suffix, length);
            return new ByteRange(RangeKind.Satisfiable, length - n, n);
        }

        if (!TryParseNumber(first, out var start))
        {
            return None;
        }

        long end;
        if (last.IsEmpty)
        {
            end = length - 1;
        }
        else if (!TryParseNumber(last, out end) || end < start)
        {
            return None;
        }

        if (start >= length)
        {
            return new ByteRange(RangeKind.Unsatisfiable, 0, 0);
        }

        end = Math.Min(end, length - 1);
        return new ByteRange(RangeKind.Satisfiable, start, end - start + 1);
    }

    private static bool TryParseNumber(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 18)
        {
            return false;
        }

        foreach (var b in digits)
        {
            if ((uint)(b - '0') > 9)
            {
                return false;
            }
        }

        return Utf8Parser.TryParse(digits, out value, out var used) && used == digits.Length;
    }
}
