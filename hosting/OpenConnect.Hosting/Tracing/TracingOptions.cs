namespace OpenConnect.Hosting.Tracing;

/// <summary>Where a role sends its spans (<c>Tracing:Exporter</c>).</summary>
public enum TracingExporter
{
    /// <summary>Tracing off: no listener on any activity source, so no span is created anywhere.</summary>
    None,

    /// <summary>OTLP over HTTP with protobuf bodies (Jaeger, Tempo, the OpenTelemetry Collector on port 4318).</summary>
    Otlp,

    /// <summary>Zipkin JSON v2 (Zipkin, Jaeger's Zipkin port 9411).</summary>
    Zipkin,
}

/// <summary>
/// Distributed tracing, the same section in every role (<c>Tracing</c>): off by default. With an
/// exporter set, the role continues W3C trace context (<c>traceparent</c>, <c>tracestate</c>) from
/// incoming requests, passes it on in its own HTTP calls (an appliance's parent fetches) and exports
/// its spans to <see cref="Endpoint"/>.
/// </summary>
public sealed class TracingOptions : IRoleOptions<TracingOptions>
{
    public static string SectionName => "Tracing";

    /// <summary><c>none</c> (default), <c>otlp</c> (OTLP/HTTP protobuf) or <c>zipkin</c> (Zipkin JSON v2).</summary>
    public TracingExporter Exporter { get; set; } = TracingExporter.None;

    /// <summary>
    /// The full URL spans are POSTed to, required with an exporter: for OTLP the collector's traces path
    /// (<c>http://collector:4318/v1/traces</c>), for Zipkin its spans path (<c>http://zipkin:9411/api/v2/spans</c>).
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// Share of new traces recorded, 0 to 1. Default 1. A request that arrives with a trace context
    /// follows its caller's sampling decision (parent-based), so one trace is recorded whole or not at all.
    /// </summary>
    public double SampleRatio { get; set; } = 1.0;

    /// <summary>How long finished spans wait in memory before they are sent in a batch. Default 5 s; 100 ms to 1 minute.</summary>
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => Exporter != TracingExporter.None;

    public void Validate(OptionsCheck check)
    {
        check.Require(Enum.IsDefined(Exporter), "Exporter", Exporter, "must be none, otlp or zipkin");
        if (Enabled)
        {
            check.RequireAbsoluteHttpUri(Endpoint, "Endpoint");
        }
        else
        {
            check.Require(string.IsNullOrEmpty(Endpoint), "Endpoint", Endpoint, "is set but Tracing:Exporter is none: set Tracing:Exporter to otlp or zipkin, or remove the endpoint");
        }

        check.Require(SampleRatio is >= 0 and <= 1, "SampleRatio", SampleRatio, "must be between 0 and 1");
        check.Require(ExportInterval >= TimeSpan.FromMilliseconds(100) && ExportInterval <= TimeSpan.FromMinutes(1), "ExportInterval", ExportInterval, "must be between 00:00:00.1 and 00:01:00");
    }
}
