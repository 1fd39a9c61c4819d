using System.Collections.Concurrent;
using System.Diagnostics;
using OpenConnect.Hosting.Tracing;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Carries an upload's trace from the intake to the worker, which runs the title later on its own
/// thread: the intake's span (a child of the upload request's) is remembered per title, and the
/// worker's <c>origin pipeline</c> span continues it, so ingest, probe, encode, package and publish
/// are spans of one trace. In memory only and only while tracing is on; a title resumed after a
/// restart starts a new trace.
/// </summary>
public sealed class PipelineTraces
{
    /// <summary>Titles remembered at most; past it new ones are not (their pipeline starts its own trace).</summary>
    internal const int Capacity = 1024;

    private readonly ConcurrentDictionary<string, ActivityContext> _contexts = new(StringComparer.Ordinal);

    /// <summary>Starts the intake's span (null when tracing is off or the trace is not sampled).</summary>
    public static Activity? StartIngest(string uploadId)
    {
        var activity = RoleTracing.Source.StartActivity("origin ingest");
        activity?.SetTag("openconnect.upload", uploadId);
        return activity;
    }

    /// <summary>Remembers the trace <paramref name="titleId"/> was queued under.</summary>
    public void Remember(string titleId, Activity? ingest)
    {
        if (ingest is null || _contexts.Count >= Capacity)
        {
            return;
        }

        ingest.SetTag("openconnect.title", titleId);
        _contexts[titleId] = ingest.Context;
    }

    /// <summary>Starts the span of one pipeline run of <paramref name="titleId"/>, continuing its upload's trace when remembered.</summary>
    public Activity? StartRun(string titleId)
    {
        if (!RoleTracing.Source.HasListeners())
        {
            return null;
        }

        _contexts.TryRemove(titleId, out var parent);
        var activity = RoleTracing.Source.StartActivity("origin pipeline", ActivityKind.Internal, parent);
        activity?.SetTag("openconnect.title", titleId);
        return activity;
    }

    /// <summary>Starts the span of one attempt at a step (<c>probe</c>, <c>encode/3</c>, <c>package</c>, …) under the run's span.</summary>
    public static Activity? StartStep(string titleId, string step, string label)
    {
        var activity = RoleTracing.Source.StartActivity($"pipeline {label}");
        if (activity is not null)
        {
            activity.SetTag("openconnect.title", titleId);
            activity.SetTag("openconnect.step", step);
        }

        return activity;
    }
}
