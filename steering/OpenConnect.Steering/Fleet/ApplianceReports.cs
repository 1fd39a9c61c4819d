using System.Collections.Concurrent;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// What appliances report for operators beyond what selection reads: the build version each
/// registered with, and the request counters of each heartbeat, from which the recent hit ratio
/// is derived (<see cref="HitWindow"/>). Keyed by appliance id; a new instance starts afresh.
/// </summary>
public sealed class ApplianceReports
{
    private readonly ConcurrentDictionary<string, Report> _reports = new(StringComparer.Ordinal);

    /// <summary>Longest version string kept; longer ones (or ones with other than printable ASCII) are dropped.</summary>
    public const int MaxVersionLength = 64;

    /// <summary>An instance registered with <paramref name="version"/>: its counters start at zero now.</summary>
    public void Registered(string applianceId, string instanceId, string version, DateTimeOffset now) =>
        _reports[applianceId] = new Report(instanceId, IsPrintable(version) ? version : "", HitWindow.Start(now));

    private static bool IsPrintable(string version) =>
        version.Length <= MaxVersionLength && !version.AsSpan().ContainsAnyExceptInRange((char)0x21, (char)0x7e);

    /// <summary>A heartbeat steering accepted, with the instance's counters since it started.</summary>
    public void Heartbeat(string applianceId, string instanceId, long requests, long hitRequests, DateTimeOffset now)
    {
        var sample = new HitSample(now, requests, hitRequests);
        _reports.AddOrUpdate(
            applianceId,
            _ => new Report(instanceId, "", HitWindow.Start(now).Add(sample)),
            (_, report) => report.InstanceId == instanceId
                ? report with { Hits = report.Hits.Add(sample) }
                : new Report(instanceId, "", HitWindow.Start(now).Add(sample)));
    }

    public Report? Find(string applianceId) => _reports.GetValueOrDefault(applianceId);

    public void Forget(string applianceId) => _reports.TryRemove(applianceId, out _);

    /// <summary>One appliance's report: the instance, its version (empty: it sent none) and its hit counters.</summary>
    public sealed record Report(string InstanceId, string Version, HitWindow Hits);
}

/// <summary>An instance's cumulative request counters at one moment.</summary>
public readonly record struct HitSample(DateTimeOffset At, long Requests, long HitRequests);

/// <summary>
/// The recent hit ratio from cumulative counters: the change between a baseline sample and the
/// latest one, the baseline moving up to the previous sample once it is <see cref="Span"/> old, so
/// the ratio covers between one and two spans of traffic (from the instance's start until then).
/// Counters that go down (a restart steering did not see) start the window again. Pure.
/// </summary>
public sealed record HitWindow(HitSample Baseline, HitSample Latest)
{
    /// <summary>How much traffic the ratio covers at least, once the instance has run that long.</summary>
    public static readonly TimeSpan Span = TimeSpan.FromMinutes(5);

    public static HitWindow Start(DateTimeOffset at) => new(new HitSample(at, 0, 0), new HitSample(at, 0, 0));

    /// <summary>Requests in the window.</summary>
    public long Requests => Latest.Requests - Baseline.Requests;

    /// <summary>Requests in the window answered from the appliance's cache.</summary>
    public long HitRequests => Latest.HitRequests - Baseline.HitRequests;

    /// <summary>Hits over requests in the window; null when there were none.</summary>
    public double? Ratio => Requests > 0 ? (double)HitRequests / Requests : null;

    public HitWindow Add(HitSample sample)
    {
        if (sample.Requests < Latest.Requests || sample.HitRequests < Latest.HitRequests || sample.HitRequests > sample.Requests)
        {
            var start = new HitSample(sample.At, 0, 0);
            return sample.HitRequests > sample.Requests ? new HitWindow(start, start) : new HitWindow(start, sample);
        }

        return sample.At - Baseline.At >= Span ? new HitWindow(Latest, sample) : this with { Latest = sample };
    }
}
