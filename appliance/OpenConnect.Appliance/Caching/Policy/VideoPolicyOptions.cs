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
    /// Default 4.
    /// </summary>
    public double HalfLife { get; init; } = 4.0;

    /// <summary>Resident objects sampled per eviction; the lowest-valued one goes. Default 16.</summary>
    public int SampleSize { get; init; } = 16;

    /// <summary>
    /// A missed object is admitted (written) only when its estimated request rate is at least this many
    /// times the rate of each object it displaces. Above 1 it trades a little hit ratio for fewer SSD
    /// writes. Default 1.0.
    /// </summary>
    public double AdmitRatio { get; init; } = 1.0;

    /// <summary>Count requests per title (recency and frequency of the title as a whole); when off, per object. Default on.</summary>
    public bool UseTitle { get; init; } = true;

    /// <summary>Weigh objects by their position in the title (early segments are requested by every session). Default on.</summary>
    public bool UsePosition { get; init; } = true;

    /// <summary>Weigh objects by the share of requests their rendition gets at this site. Default on.</summary>
    public bool UseRendition { get; init; } = true;

    /// <summary>Throws when a parameter is out of range; the message names the parameter.</summary>
    public void Validate()
    {
        Require(HalfLife is >= 0.05 and <= 1000, nameof(HalfLife), HalfLife, "must be in [0.05, 1000]");
        Require(SampleSize is >= 1 and <= 256, nameof(SampleSize), SampleSize, "must be in [1, 256]");
        Require(AdmitRatio is >= 0 and <= 1000, nameof(AdmitRatio), AdmitRatio, "must be in [0, 1000]");
    }

    private static void Require(bool ok, string name, double value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"VideoPolicyOptions.{name} = {value.ToString(CultureInfo.InvariantCulture)} is invalid: {rule}");
        }
    }
}
