using System.Diagnostics;
using OpenConnect.Appliance.Http;
using OpenConnect.Hosting.Tracing;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The request's server span, only while tracing is on (<see cref="RoleTracing"/>): it continues the
/// player's or peer's <c>traceparent</c>, and a miss's parent fetch, started under it, passes the
/// trace on to the parent. Tags carry the content path, never the token.
/// </summary>
internal sealed partial class SegmentConnection
{
    private Activity? StartTrace(RequestSummary request)
    {
        var parent = RoleTracing.ParseTraceContext(Head.AsSpan(request.Traceparent), Head.AsSpan(request.Tracestate));
        var activity = RoleTracing.Source.StartActivity(SpanName(request), ActivityKind.Server, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("http.request.method", MethodName(request.Method));
            activity.SetTag("url.path", request.Path);
            activity.SetTag("client.address", _client?.ToString());
        }

        return activity;
    }

    private void EndTrace(Activity activity)
    {
        if (!activity.IsAllDataRequested || _loggedStatus == 0)
        {
            return;
        }

        activity.SetTag("http.response.status_code", _loggedStatus);
        activity.SetTag("openconnect.cache", _loggedCache);
        if (_loggedStatus >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    /// <summary>Named like ASP.NET Core's spans for route templates, so the appliance's spans group like the other roles'.</summary>
    private static string SpanName(RequestSummary request) => (request.Method, request.Signed) switch
    {
        (RequestMethod.Get, true) => "GET /s/{token}/v/{**rest}",
        (RequestMethod.Get, false) => "GET /v/{**rest}",
        (RequestMethod.Head, true) => "HEAD /s/{token}/v/{**rest}",
        (RequestMethod.Head, false) => "HEAD /v/{**rest}",
        (RequestMethod.Options, _) => "OPTIONS",
        _ => "HTTP",
    };
}
