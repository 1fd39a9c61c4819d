using System.Globalization;

namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Parameters of <see cref="S3FifoPolicy"/>. Defaults are the values the <c>cache-sim</c> bench chose
/// on the synthetic VOD traces (see bench/RESULTS.md, section cache-sim).
/// </summary>
public sealed record S3FifoOptions
{
    /// <summary>Share of the capacity given to the probationary small queue (the RAM tier). Default 0.10.</summary>
    public double SmallFraction { get; init; } = 0.10;

    /// <summary>
    /// The ghost queue remembers recently evicted-from-small keys whose sizes add up to this share of
    /// the capacity. Default 2.0: on VOD traces a segment's next request (the next session of the title
    /// at that rung) often comes later than 0.9 × capacity bytes of misses, the published default.
    /// It holds keys only, about 40 bytes of RAM per entry.
    /// </summary>
    public double GhostFraction { get; init; } = 2.0;

    /// <summary>Saturation of the per-object access counter: how many passes through main a hot object survives unrequested. Default 3 (2 bits).</summary>
    public int FrequencyCap { get; init; } = 3;

    /// <summary>Hits needed while in the small queue to be promoted to main (and written to SSD). Default 1.</summary>
    public int PromoteThreshold { get; init; } = 1;

    /// <summary>
    /// Objects larger than this share of the small queue skip probation: the first miss only records the
    /// key in the ghost, a second miss admits it to main. Keeps one large object from flushing the whole
    /// small queue. Default 1.0 (only objects that do not fit the small queue at all).
    /// </summary>
    public double MaxSmallObjectFraction { get; init; } = 1.0;

    /// <summary>Throws when a parameter is out of range; the message names the parameter.</summary>
    public void Validate()
    {
        Require(SmallFraction is > 0 and <= 0.5, nameof(SmallFraction), SmallFraction, "must be in (0, 0.5]");
        Require(GhostFraction is >= 0 and <= 16, nameof(GhostFraction), GhostFraction, "must be in [0, 16]");
        Require(FrequencyCap is >= 1 and <= 15, nameof(FrequencyCap), FrequencyCap, "must be in [1, 15]");
        Require(PromoteThreshold >= 1 && PromoteThreshold <= FrequencyCap, nameof(PromoteThreshold), PromoteThreshold, "must be in [1, FrequencyCap]");
        Require(MaxSmallObjectFraction is > 0 and <= 1, nameof(MaxSmallObjectFraction), MaxSmallObjectFraction, "must be in (0, 1]");
    }

    private static void Require(bool ok, string name, double value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"S3FifoOptions.{name} = {value.ToString(CultureInfo.InvariantCulture)} is invalid: {rule}");
        }
    }
}
