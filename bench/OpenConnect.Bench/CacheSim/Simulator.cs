using System.Diagnostics;
using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>What one replay measured.</summary>
internal sealed record SimResult(
    string Trace,
    double SizeFraction,
    long CacheBytes,
    string Policy,
    long Requests,
    long Hits,
    long RequestedBytes,
    long HitBytes,
    long SsdBytesWritten,
    double PolicyNanosPerRequest)
{
    public double ObjectHitRatio => (double)Hits / Requests;

    public double ByteHitRatio => (double)HitBytes / RequestedBytes;

    public double ByteMissRatio => 1 - ByteHitRatio;
}

/// <summary>Replays a trace through a policy exactly as the appliance drives it: Access, and Admit on a miss.</summary>
internal static class Simulator
{
    public const string Belady = "belady";

    /// <summary>The video policy with the fill controller's per-title forecast, made from past days only, delivered daily.</summary>
    public const string VideoForecast = "video-forecast";

    /// <summary>A bound, not a policy: the video policy given each day's true per-title rates (the future) as its prior.</summary>
    public const string VideoExactRates = "video-exact";

    public static SimResult Run(Trace trace, string policyName, double sizeFraction, S3FifoOptions s3Fifo, VideoPolicyOptions video, IReadOnlyList<TitlePrior?>? priorsByDay = null)
    {
        var capacity = Math.Max(1, (long)(trace.UniqueBytes * sizeFraction));
        IEvictionPolicy policy = policyName switch
        {
            Belady => new BeladyMin(capacity, trace.NextUse),
            VideoForecast or VideoExactRates => new VideoAwarePolicy(capacity, video, 1 << 16),
            _ => PolicyFactory.Create(policyName, capacity, s3Fifo, expectedObjects: 1 << 16, video),
        };
        var prior = priorsByDay is null ? null : policy as VideoAwarePolicy;
        var times = trace.Times;
        var day = -1;

        var keys = trace.Keys;
        var sizes = trace.Sizes;
        var hints = trace.Hints;
        var aware = hints is null ? null : policy as IContentAwarePolicy;
        var evicted = new List<ulong>(256);
        long hits = 0, hitBytes = 0, requested = 0, admittedBytes = 0;

        // The loop does nothing but drive the policy, so its time per request is the policy's cost
        // (plus a few adds); on a shared machine compare it between policies of one run.
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < keys.Length; i++)
        {
            if (prior is not null && TitleForecasts.DayOf(times[i]) != day)
            {
                // A new day's forecast arrives with the night manifest.
                day = TitleForecasts.DayOf(times[i]);
                prior.SetPrior(day < priorsByDay!.Count ? priorsByDay[day] : null);
            }

            var size = sizes[i];
            requested += size;
            if (policy.Access(keys[i]))
            {
                hits++;
                hitBytes += size;
                continue;
            }

            evicted.Clear();
            var admitted = aware is null ? policy.Admit(keys[i], size, evicted) : aware.Admit(keys[i], size, hints![i], evicted);
            if (admitted)
            {
                admittedBytes += size;
            }
        }

        var nanosPerRequest = Stopwatch.GetElapsedTime(started).TotalNanoseconds / keys.Length;

        // For the tiered policies (S3-FIFO, video) only entering main is an SSD write; the baselines and Belady write every admission.
        var ssdBytes = policy is ITieredPolicy tiered ? tiered.BytesAdmittedToMain : admittedBytes;
        return new SimResult(trace.Name, sizeFraction, capacity, policyName, keys.Length, hits, requested, hitBytes, ssdBytes, nanosPerRequest);
    }
}
