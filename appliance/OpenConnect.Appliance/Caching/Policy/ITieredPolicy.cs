namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// A policy with a RAM-only probation queue in front of the SSD tier (<see cref="S3FifoPolicy"/>,
/// <see cref="VideoAwarePolicy"/>): a new object is resident without being written, and is written when
/// the policy moves it to main. The cache learns those moves through <c>promoted</c> lists
/// it owns and clears, so a call allocates nothing.
/// </summary>
public interface ITieredPolicy : IResizablePolicy
{
    /// <summary>Bytes that entered main: the SSD write volume.</summary>
    long BytesAdmittedToMain { get; }

    /// <summary>True when the object is resident in main, i.e. it has been written to the SSD tier.</summary>
    bool IsInMain(ulong key);

    /// <summary>
    /// As <see cref="IEvictionPolicy.Admit"/>; in addition every key that entered main during this call
    /// is appended to <paramref name="promoted"/>: the cache writes those objects to SSD.
    /// </summary>
    bool Admit(ulong key, long size, List<ulong> evicted, List<ulong>? promoted);

    /// <summary>Puts an object that is (or is being put) on SSD straight into main, e.g. after a restart. False when it does not fit.</summary>
    bool Restore(ulong key, long size, List<ulong> evicted);
}
