using System.Globalization;

namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Parameters of <see cref="VideoAwarePolicy"/>. Defaults are the values the <c>cache-sim</c> bench chose
/// on the synthetic VOD traces (see bench/RESULTS.md, section cache-sim). The three <c>Use…</c> switches
/// exist to measure each signal alone; the appliance runs with all of them on.
/// </summary>
public sealed record VideoPolicyOptions
{
    /// <summary>
    /// Half-life of the request counters (title, position, rendition), in requests, as a multiple of the
    /// objects resident: counts older than a few turnovers of the cache say little about the next one.
    /// Default 2 (shorter keeps more hits and costs more writes: 1 and 4 move the 5% Zipf 0.8 point
    /// along the same hit/write curve).
    /// </summary>
    public double HalfLife { get; init; } = 2.0;

    /// <summary>
    /// Share of the capacity given to the probation queue (RAM only): new objects wait there without an SSD
    /// write, and are written only if they earn it. Default 0.10, as S3-FIFO's small queue.
    /// </summary>
    public double SmallFraction { get; init; } = 0.10;

    /// <summary>
    /// The ghost queue remembers keys that left probation unwritten, with sizes adding up to this share of
    /// the capacity (keys only, about 40 bytes of RAM each). A miss on a ghost key proves reuse, as in
    /// S3-FIFO. Default 2.0.
    /// </summary>
    public double GhostFraction { get; init; } = 2.0;

    /// <summary>Main objects sampled per eviction (the lowest-valued one goes) and per admission bar. Default 16.</summary>
    public int SampleSize { get; init; } = 16;

    /// <summary>
    /// An object that proved reuse (requested again on probation, or a ghost hit) is written to main only
    /// when its estimated request rate is at least this many times the rate of each object it displaces
    /// there. Default 1.0.
    /// </summary>
    public double AdmitRatio { get; init; } = 1.0;

    /// <summary>
    /// Where the admission bar sits among main's objects: a candidate must be worth the ratio times the value
    /// at this quantile of a sample of main (0 compares with the sampled victim itself). This is the knob
    /// that trades writes for hits: 0.75 writes no more than S3-FIFO on the bench's traces, 0.5 about 17%
    /// more for 0.6 points less byte miss. Default 0.75.
    /// </summary>
    public double AdmitQuantile { get; init; } = 0.75;

    /// <summary>
    /// The same bar for an object requested only once so far: it is written when it leaves probation only if
    /// its rate (that is, its title's, at its position and rendition) is this many times that of what it
    /// displaces. High, because an unproven write is a guess; this is what admits the early segments of a
    /// title many sessions start without waiting for a second miss. Default 2.
    /// </summary>
    public double UnprovenAdmitRatio { get; init; } = 2.0;

    /// <summary>
    /// Sessions subtracted from a title's requests per segment when valuing one of its objects: the session
    /// that fetched it will not fetch it again. Default 1.
    /// </summary>
    public double SessionDiscount { get; init; } = 1.0;

    /// <summary>Count requests per title (recency and frequency of the title as a whole); when off, per object. Default on.</summary>
    public bool UseTitle { get; init; } = true;

    /// <summary>Weigh objects by their position in the title (early segments are requested by every session). Default on.</summary>
    public bool UsePosition { get; init; } = true;

    /// <summary>Weigh objects by the share of requests their rendition gets at this site. Default on.</summary>
    public bool UseRendition { get; init; } = true;

    /// <summary>
    /// How much a delivered forecast (<see cref="TitlePrior"/>) counts against the policy's own counters: 1
    /// adds, for each title, its forecast share of every request counted in the current window (as much
    /// evidence as the window itself). 0 ignores the forecast. Default 0: in cache-sim a forecast made from
    /// past days (the fill controller's kind) did not beat the policy's own recent counts at any weight
    /// tried (0.1–20; bench/RESULTS.md, section cache-sim), while each day's true rates at weight 20 did.
    /// </summary>
    public double PriorWeight { get; init; }

    /// <summary>Throws when a parameter is out of range; the message names the parameter.</summary>
    public void Validate()
    {
        Require(HalfLife is >= 0.05 and <= 1000, nameof(HalfLife), HalfLife, "must be in [0.05, 1000]");
        Require(SmallFraction is > 0 and <= 0.5, nameof(SmallFraction), SmallFraction, "must be in (0, 0.5]");
        Require(SampleSize is >= 1 and <= 256, nameof(SampleSize), SampleSize, "must be in [1, 256]");
        Require(SessionDiscount is >= 0 and <= 100, nameof(SessionDiscount), SessionDiscount, "must be in [0, 100]");
        Require(AdmitQuantile is >= 0 and <= 1, nameof(AdmitQuantile), AdmitQuantile, "must be in [0, 1]");
        Require(PriorWeight is >= 0 and <= 1000, nameof(PriorWeight), PriorWeight, "must be in [0, 1000]");
        Require(GhostFraction is >= 0 and <= 16, nameof(GhostFraction), GhostFraction, "must be in [0, 16]");
        Require(AdmitRatio is >= 0 and <= 1000, nameof(AdmitRatio), AdmitRatio, "must be in [0, 1000]");
        Require(UnprovenAdmitRatio >= AdmitRatio && UnprovenAdmitRatio <= 1e6, nameof(UnprovenAdmitRatio), UnprovenAdmitRatio, "must be in [AdmitRatio, 1e6]");
    }

    private static void Require(bool ok, string name, double value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"VideoPolicyOptions.{name} = {value.ToString(CultureInfo.InvariantCulture)} is invalid: {rule}");
        }
    }
}
