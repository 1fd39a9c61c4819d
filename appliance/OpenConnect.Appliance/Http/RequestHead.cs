namespace OpenConnect.Appliance.Http;

public enum RequestMethod : byte
{
    Other,
    Get,
    Head,
    Options,
}

/// <summary>
/// The parts of an HTTP/1.1 request head the segment server acts on. Values are slices of the
/// connection's receive buffer (valid until the buffer is advanced) to avoid a string per header.
/// </summary>
public ref struct RequestHead
{
    public RequestMethod Method;
    public ReadOnlySpan<byte> MethodToken;
    public ReadOnlySpan<byte> Target;
    /// <summary>The target without its query string.</summary>
    public ReadOnlySpan<byte> Path;
    public ReadOnlySpan<byte> Query;
    /// <summary>1 for HTTP/1.1, 0 for HTTP/1.0.</summary>
    public int MinorVersion;
    public ReadOnlySpan<byte> Host;
    public ReadOnlySpan<byte> Range;
    public ReadOnlySpan<byte> IfNoneMatch;
    public ReadOnlySpan<byte> IfModifiedSince;
    public ReadOnlySpan<byte> IfRange;
    public ReadOnlySpan<byte> Origin;
    public ReadOnlySpan<byte> AccessControlRequestMethod;
    /// <summary>W3C trace context (<c>traceparent</c>, <c>tracestate</c>): only read when tracing is on.</summary>
    public ReadOnlySpan<byte> Traceparent;
    public ReadOnlySpan<byte> Tracestate;
    public bool ConnectionClose;
    public bool ConnectionKeepAlive;
    public bool HasBody;
    public int HeaderCount;

    /// <summary>Whether the connection stays open after this response (HTTP/1.1 default; HTTP/1.0 opt-in).</summary>
    public readonly bool KeepAlive => MinorVersion == 1 ? !ConnectionClose : ConnectionKeepAlive && !ConnectionClose;
}
