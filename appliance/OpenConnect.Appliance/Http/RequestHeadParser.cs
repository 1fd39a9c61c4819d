using System.Runtime.CompilerServices;

namespace OpenConnect.Appliance.Http;

/// <summary>
/// A strict HTTP/1.1 request-head parser over one contiguous span (the connection handler copies a
/// head that straddles buffer segments into one span first: heads are small). Strict on purpose:
/// bare LF, obs-fold, whitespace before a colon, control bytes in the target and a missing Host in
/// HTTP/1.1 are rejected, which closes the usual request-smuggling gaps.
/// </summary>
public static class RequestHeadParser
{
    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    public static ParseStatus TryParse(ReadOnlySpan<byte> buffer, int maxRequestLineBytes, int maxHeaderBytes, int maxHeaderCount, out RequestHead head, out int consumed)
    {
        head = default;
        consumed = 0;

        var end = buffer.IndexOf(HeadEnd);
        var lineEnd = buffer.IndexOf(CrLf);
        if (lineEnd < 0 ? buffer.Length > maxRequestLineBytes : lineEnd > maxRequestLineBytes)
        {
            return ParseStatus.UriTooLong;
        }

        if (end < 0)
        {
            if (buffer.Length > maxRequestLineBytes + maxHeaderBytes)
            {
                return ParseStatus.HeadersTooLarge;
            }

            // A lone LF before the head ends is malformed whatever follows; fail early.
            var lf = buffer.IndexOf((byte)'\n');
            if (lf == 0 || (lf > 0 && buffer[lf - 1] != '\r'))
            {
                return ParseStatus.BadRequest;
            }

            return ParseStatus.Incomplete;
        }

        if (end - lineEnd > maxHeaderBytes)
        {
            return ParseStatus.HeadersTooLarge;
        }

        var status = ParseRequestLine(buffer[..lineEnd], ref head);
        if (status != ParseStatus.Complete)
        {
            return status;
        }

        // Header fields: between the request line's CRLF and the final CRLFCRLF.
        var fields = lineEnd == end ? [] : buffer[(lineEnd + 2)..(end + 2)];
        var hostCount = 0;
        while (!fields.IsEmpty)
        {
            var eol = fields.IndexOf(CrLf);
            var line = fields[..eol];
            fields = fields[(eol + 2)..];
            if (++head.HeaderCount > maxHeaderCount)
            {
                return ParseStatus.HeadersTooLarge;
            }

            if (!ParseField(line, ref head, ref hostCount))
            {
                return ParseStatus.BadRequest;
            }
        }

        if (hostCount > 1 || (head.MinorVersion == 1 && hostCount == 0))
        {
            return ParseStatus.BadRequest;
        }

        consumed = end + 4;
        return ParseStatus.Complete;
    }

    private static ParseStatus ParseRequestLine(ReadOnlySpan<byte> line, ref RequestHead head)
    {
        var sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0 || !IsToken(line[..sp1]))
        {
            return ParseStatus.BadRequest;
        }

        head.MethodToken = line[..sp1];
        head.Method = head.MethodToken switch
        {
            var m when m.SequenceEqual("GET"u8) => RequestMethod.Get,
            var m when m.SequenceEqual("HEAD"u8) => RequestMethod.Head,
            var m when m.SequenceEqual("OPTIONS"u8) => RequestMethod.Options,
            _ => RequestMethod.Other,
        };

        var rest = line[(sp1 + 1)..];
        var sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return ParseStatus.BadRequest;
        }

        var target = rest[..sp2];
        var version = rest[(sp2 + 1)..];
        if (version.Length != 8 || !version[..7].SequenceEqual("HTTP/1."u8))
        {
            return version.StartsWith("HTTP/"u8) && version.Length == 8 && IsDigit(version[5]) && version[6] == '.' && IsDigit(version[7])
                ? ParseStatus.VersionNotSupported
                : ParseStatus.BadRequest;
        }

        head.MinorVersion = version[7] switch
        {
            (byte)'1' => 1,
            (byte)'0' => 0,
            _ => -1,
        };
        if (head.MinorVersion < 0)
        {
            return ParseStatus.VersionNotSupported;
        }

        if (!IsValidTarget(target))
        {
            return ParseStatus.BadRequest;
        }

        head.Target = target;
        var q = target.IndexOf((byte)'?');
        head.Path = q < 0 ? target : target[..q];
        head.Query = q < 0 ? default : target[(q + 1)..];
        return ParseStatus.Complete;
    }

    private static bool ParseField(ReadOnlySpan<byte> line, ref RequestHead head, ref int hostCount)
    {
        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }

        var name = line[..colon];
        if (!IsToken(name))
        {
            // Covers obs-fold (leading whitespace) and whitespace before the colon.
            return false;
        }

        var value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
        {
            if ((b < 0x20 && b != '\t') || b == 0x7F)
            {
                return false;
            }
        }

        switch (name.Length)
        {
            case 4 when name.EqualsAsciiIgnoreCase("host"):
                hostCount++;
                head.Host = value;
                break;
            case 5 when name.EqualsAsciiIgnoreCase("range"):
                head.Range = value;
                break;
            case 6 when name.EqualsAsciiIgnoreCase("origin"):
                head.Origin = value;
                break;
            case 8 when name.EqualsAsciiIgnoreCase("if-range"):
                head.IfRange = value;
                break;
            case 10 when name.EqualsAsciiIgnoreCase("connection"):
                ParseConnection(value, ref head);
                break;
            case 10 when name.EqualsAsciiIgnoreCase("tracestate"):
                head.Tracestate = value;
                break;
            case 11 when name.EqualsAsciiIgnoreCase("traceparent"):
                head.Traceparent = value;
                break;
            case 13 when name.EqualsAsciiIgnoreCase("if-none-match"):
                head.IfNoneMatch = value;
                break;
            case 14 when name.EqualsAsciiIgnoreCase("content-length"):
                if (!ulong.TryParse(value, System.Globalization.NumberStyles.None, null, out var length))
                {
                    return false;
                }

                head.HasBody |= length > 0;
                break;
            case 17 when name.EqualsAsciiIgnoreCase("if-modified-since"):
                head.IfModifiedSince = value;
                break;
            case 17 when name.EqualsAsciiIgnoreCase("transfer-encoding"):
                head.HasBody = true;
                break;
            case 29 when name.EqualsAsciiIgnoreCase("access-control-request-method"):
                head.AccessControlRequestMethod = value;
                break;
        }

        return true;
    }

    private static void ParseConnection(ReadOnlySpan<byte> value, ref RequestHead head)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = value[range].Trim(" \t"u8);
            if (token.EqualsAsciiIgnoreCase("close"))
            {
                head.ConnectionClose = true;
            }
            else if (token.EqualsAsciiIgnoreCase("keep-alive"))
            {
                head.ConnectionKeepAlive = true;
            }
        }
    }

    private static bool IsValidTarget(ReadOnlySpan<byte> target)
    {
        if (target.Length == 1 && target[0] == '*')
        {
            return true;
        }

        if (target.IsEmpty || target[0] != '/')
        {
            return false;
        }

        foreach (var b in target)
        {
            if (b <= 0x20 || b >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool IsToken(ReadOnlySpan<byte> token)
    {
        if (token.IsEmpty)
        {
            return false;
        }

        foreach (var b in token)
        {
            if (!IsTChar(b))
            {
                return false;
            }
        }

        return true;
    }

    // RFC 9110 tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    private static bool IsTChar(byte b) =>
        (uint)((b | 0x20) - 'a') <= 'z' - 'a' || IsDigit(b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\''
            or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    private static bool EqualsAsciiIgnoreCase(this ReadOnlySpan<byte> span, string value) => System.Text.Ascii.EqualsIgnoreCase(span, value);
}
