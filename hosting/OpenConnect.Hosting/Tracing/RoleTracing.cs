using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Security;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OpenConnect.Hosting.Tracing;

/// <summary>
/// Tracing the same way in every role (<see cref="TracingOptions"/>): with <c>Tracing:Exporter</c> set,
/// an OpenTelemetry tracer provider records the roles' own spans (<see cref="Source"/>), ASP.NET Core's
/// server spans (W3C <c>traceparent</c> continued from the caller) and HttpClient's client spans
/// (<c>traceparent</c> passed on), and exports them in batches. Off by default, and then nothing is
/// registered: <see cref="Source"/> has no listener, so <c>StartActivity</c> returns null and the
/// data path skips its trace-context work after one <see cref="ActivitySource.HasListeners"/> check.
/// </summary>
public static class RoleTracing
{
    /// <summary>The activity source of every role's own spans (appliance requests and parent fetches, origin pipeline steps).</summary>
    public const string SourceName = "OpenConnect";

    public static ActivitySource Source { get; } = new(SourceName, RoleVersion.Current);

    /// <summary>The <c>service.name</c> a role's spans carry, e.g. <c>openconnect-appliance</c>.</summary>
    public static string ServiceName(string role) => $"openconnect-{role}";

    /// <summary>Binds and validates <c>Tracing</c>; registers OpenTelemetry only when an exporter is set.</summary>
    public static WebApplicationBuilder AddRoleTracing(this WebApplicationBuilder builder, string role)
    {
        builder.Services.AddRoleOptions<TracingOptions>(builder.Configuration);
        var options = RoleOptionsRegistration.BindOrDefaults<TracingOptions>(builder.Configuration);
        // An endpoint that does not parse is reported by validation when the host starts.
        if (!options.Enabled || !Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint))
        {
            return builder;
        }

        var ratio = Math.Clamp(options.SampleRatio, 0, 1);
        var delay = (int)Math.Clamp(options.ExportInterval.TotalMilliseconds, 100, 60_000);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName(role), serviceVersion: RoleVersion.Current))
            .WithTracing(tracing =>
            {
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)))
                    .AddSource(SourceName)
                    .AddAspNetCoreInstrumentation(o =>
                    {
                        o.Filter = IsTraced;
                        o.EnrichWithHttpRequest = (activity, request) => RedactToken(activity, request.Path.Value);
                    })
                    .AddHttpClientInstrumentation();
                if (options.Exporter == TracingExporter.Zipkin)
                {
                    // OpenTelemetry marks its Zipkin exporter obsolete in favour of OTLP; Zipkin (and
                    // Jaeger's Zipkin port) still take it, and it is the simplest receiver to run.
#pragma warning disable CS0618
                    tracing.AddZipkinExporter(o =>
                    {
                        o.Endpoint = endpoint;
                        o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = delay;
                    });
#pragma warning restore CS0618
                }
                else
                {
                    tracing.AddOtlpExporter(o =>
                    {
                        o.Endpoint = endpoint;
                        o.Protocol = OtlpExportProtocol.HttpProtobuf;
                        o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = delay;
                    });
                }
            });
        return builder;
    }

    /// <summary>
    /// Requests on the role's own listeners (<see cref="RoleListeners"/>) are traced, except health checks
    /// and scrapes on the management listener, which would drown them. Other servers in the process
    /// (test fixtures) are not: ASP.NET Core's activity source is process-wide.
    /// </summary>
    private static bool IsTraced(HttpContext context) =>
        context.Features.Get<ListenerKindFeature>() is { Kind: not ListenerKind.Management };

    /// <summary>
    /// Adds a tag to the span of the request being handled (ASP.NET Core's) while tracing is on; does
    /// nothing otherwise (ASP.NET Core may keep an activity for log scopes even then).
    /// </summary>
    public static void TagRequest(string key, string? value)
    {
        if (Source.HasListeners() && Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(key, value);
        }
    }

    /// <summary>
    /// A signed player path (<c>/s/{token}/v/…</c>) carries a bearer token: its server span keeps the
    /// content path and never the token, which would otherwise reach the tracing backend.
    /// </summary>
    private static void RedactToken(Activity activity, string? path)
    {
        if (path is not null && path.StartsWith("/s/", StringComparison.Ordinal))
        {
            activity.SetTag("url.path", RedactedPath(path));
        }
    }

    /// <summary><c>/s/{token}/v/t/a.m4s</c> as <c>/s/redacted/v/t/a.m4s</c>; any other <c>/s/…</c> path as <c>/s/redacted</c>.</summary>
    public static string RedactedPath(string path) =>
        UrlToken.TrySplitSignedPath(path, out _, out var content) ? string.Concat("/s/redacted", content) : "/s/redacted";

    /// <summary>
    /// The trace context of a request head's <c>traceparent</c> and <c>tracestate</c> values (ASCII
    /// bytes), or default when there is none or it does not parse (the request then starts a trace).
    /// Called only when <see cref="Source"/> has listeners.
    /// </summary>
    public static ActivityContext ParseTraceContext(ReadOnlySpan<byte> traceparent, ReadOnlySpan<byte> tracestate)
    {
        // W3C version 00 is exactly 55 characters; later versions may append fields, bounded here.
        if (traceparent.Length is < 55 or > 256 || tracestate.Length > 512)
        {
            return default;
        }

        var parent = System.Text.Encoding.ASCII.GetString(traceparent);
        var state = tracestate.IsEmpty ? null : System.Text.Encoding.ASCII.GetString(tracestate);
        return ActivityContext.TryParse(parent, state, isRemote: true, out var context) ? context : default;
    }
}
