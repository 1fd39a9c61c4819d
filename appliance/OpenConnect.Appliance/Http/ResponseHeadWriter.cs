using System.Buffers.Text;
using System.Text;

namespace OpenConnect.Appliance.Http;

/// <summary>
/// Writes an HTTP/1.1 response head into a caller-provided buffer (ASCII, no allocation). Throws
/// <see cref="InvalidOperationException"/> if the buffer is too small, which a 4 KiB buffer never is
/// for the heads this server writes.
/// </summary>
public ref struct ResponseHeadWriter
{
    private readonly Span<byte> _buffer;
    private int _written;

    public ResponseHeadWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _written = 0;
    }

    public readonly int Written => _written;

    public void StatusLine(int status)
    {
        Append("HTTP/1.1 "u8);
        Number(status);
        Append(" "u8);
        Append(ReasonPhrase(status));
        Append("\r\n"u8);
    }

    public void Header(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Append(name);
        Append(": "u8);
        Append(value);
        Append("\r\n"u8);
    }

    public void Header(ReadOnlySpan<byte> name, string value)
    {
        Append(name);
        Append(": "u8);
        Ascii(value);
        Append("\r\n"u8);
    }

    public void Header(ReadOnlySpan<byte> name, long value)
    {
        Append(name);
        Append(": "u8);
        Number(value);
        Append("\r\n"u8);
    }

    /// <summary>A header whose value is a fixed prefix and a number, e.g. <c>Cache-Control: public, max-age=4</c>.</summary>
    public void Header(ReadOnlySpan<byte> name, ReadOnlySpan<byte> prefix, long value)
    {
        Append(name);
        Append(": "u8);
        Append(prefix);
        Number(value);
        Append("\r\n"u8);
    }

    public void ContentRange(long start, long end, long length)
    {
        Append("Content-Range: bytes "u8);
        Number(start);
        Append("-"u8);
        Number(end);
        Append("/"u8);
        Number(length);
        Append("\r\n"u8);
    }

    public void UnsatisfiedContentRange(long length)
    {
        Append("Content-Range: bytes */"u8);
        Number(length);
        Append("\r\n"u8);
    }

    public void End() => Append("\r\n"u8);

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(_buffer[_written..]))
        {
            ThrowTooSmall();
        }

        _written += bytes.Length;
    }

    private void Ascii(string value)
    {
        if (!Encoding.ASCII.TryGetBytes(value, _buffer[_written..], out var n))
        {
            ThrowTooSmall();
        }

        _written += n;
    }

    private void Number(long value)
    {
        if (!Utf8Formatter.TryFormat(value, _buffer[_written..], out var n))
        {
            ThrowTooSmall();
        }

        _written += n;
    }

    private static void ThrowTooSmall() => throw new InvalidOperationException("response head buffer too small");

    public static ReadOnlySpan<byte> ReasonPhrase(int status) => status switch
    {
        200 => "OK"u8,
        204 => "No Content"u8,
        206 => "Partial Content"u8,
        304 => "Not Modified"u8,
        400 => "Bad Request"u8,
        403 => "Forbidden"u8,
        404 => "Not Found"u8,
        405 => "Method Not Allowed"u8,
        408 => "Request Timeout"u8,
        413 => "Content Too Large"u8,
        414 => "URI Too Long"u8,
        416 => "Range Not Satisfiable"u8,
        431 => "Request Header Fields Too Large"u8,
        500 => "Internal Server Error"u8,
        502 => "Bad Gateway"u8,
        503 => "Service Unavailable"u8,
        504 => "Gateway Timeout"u8,
        505 => "HTTP Version Not Supported"u8,
        _ => "Unknown"u8,
    };
}
