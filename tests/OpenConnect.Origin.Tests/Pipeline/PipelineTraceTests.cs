using System.Diagnostics;
using OpenConnect.Hosting.Tracing;
using OpenConnect.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>An upload's pipeline as one trace, recorded with OpenTelemetry's in-memory exporter.</summary>
public sealed class PipelineTraceTests
{
    [Fact]
    public async Task Upload_IngestAndEveryStep_AreSpansOfTheUploadsTrace()
    {
        var exported = new LockedActivities();
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(RoleTracing.SourceName).AddInMemoryExporter(exported).Build();
        await using var harness = await PipelineHarness.StartAsync(null, "--Origin:Pipeline:MaxHeight=360", "--Origin:Pipeline:SegmentSeconds=2", "--Origin:Pipeline:ChunkSeconds=2", "--Origin:Pipeline:MaxParallelEncodes=1");

        // The upload request's span, as the final PATCH would carry it when it hands the file to the intake.
        ActivityTraceId traceId;
        ActivitySpanId uploadSpan;
        string titleId;
        using (var upload = RoleTracing.Source.StartActivity("test upload request", ActivityKind.Server)!)
        {
            traceId = upload.TraceId;
            uploadSpan = upload.SpanId;
            titleId = (await harness.SubmitCopyAsync(await SampleMedia.GetAsync(SampleMedia.Mp4Small))).TitleId;
        }

        var title = await harness.WaitForEndAsync(titleId, TimeSpan.FromMinutes(3));
        Assert.Equal("published", title.GetProperty("state").GetString());

        // The run's span ends just after the title is recorded published.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!exported.Snapshot().Any(a => a.TraceId == traceId && a.DisplayName == "origin pipeline"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the pipeline span never ended");
            await Task.Delay(50);
        }

        var trace = exported.Snapshot().Where(a => a.TraceId == traceId).ToList();
        var ingest = Assert.Single(trace, a => a.DisplayName == "origin ingest");
        Assert.Equal(uploadSpan, ingest.ParentSpanId);
        Assert.Equal(titleId, ingest.GetTagItem("openconnect.title"));
        var run = Assert.Single(trace, a => a.DisplayName == "origin pipeline");
        Assert.Equal(ingest.SpanId, run.ParentSpanId);

        var steps = trace.Where(a => a.ParentSpanId == run.SpanId).OrderBy(a => a.StartTimeUtc).ToList();
        Assert.All(steps, s => Assert.Equal(titleId, s.GetTagItem("openconnect.title")));
        Assert.All(steps, s => Assert.NotEqual(ActivityStatusCode.Error, s.Status));
        var names = steps.Select(s => s.DisplayName).Distinct().ToList();
        string[] expected = ["pipeline probe", "pipeline chunk", "pipeline encode", "pipeline concat", "pipeline package", "pipeline integrity", "pipeline publish"];
        Assert.All(expected, name => Assert.Contains(name, names));
        // In the order the DAG runs them: each of these starts after the one before it ended.
        var ordered = expected.Select(name => steps.Where(s => s.DisplayName == name).ToList()).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            Assert.True(ordered[i].Min(s => s.StartTimeUtc) >= ordered[i - 1].Max(s => s.StartTimeUtc + s.Duration), $"{expected[i]} started before {expected[i - 1]} ended");
        }

        Assert.Contains(steps, s => s.DisplayName == "pipeline encode" && (s.GetTagItem("openconnect.step") as string)!.StartsWith("encode/", StringComparison.Ordinal));
    }

    /// <summary>The exporter's collection: spans end on the pipeline's threads while the test reads.</summary>
    private sealed class LockedActivities : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<Activity> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
