using OpenConnect.Appliance.Http;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Serving;

/// <summary>One request, parsed once; header values are ranges of the connection's head buffer.</summary>
internal sealed record RequestSummary(RequestMethod Method, bool KeepAlive, bool HasBody, string? Path, string? AllowOrigin)
{
    public bool IsHead => Method == RequestMethod.Head;

    public Range Range { get; init; }

    public Range IfNoneMatch { get; init; }

    public Range IfModifiedSince { get; init; }

    public Range IfRange { get; init; }

    /// <summary>The W3C trace context headers; recorded only while tracing is on.</summary>
    public Range Traceparent { get; init; }

    public Range Tracestate { get; init; }

    /// <summary>Set when access is refused (answered 403 with the reason).</summary>
    public TokenCheck? Denied { get; init; }

    /// <summary>Set when the listener refuses the request (the parent listener's fleet rule): answered with the status and reason.</summary>
    public (int Status, byte[] Reason)? Refused { get; init; }

    /// <summary>A player request (<c>/s/{token}/…</c>) rather than a peer's unsigned one.</summary>
    public bool Signed { get; init; }
}
