namespace OpenConnect.Appliance.Storage;

/// <summary>Settings of the SSD-tier object store.</summary>
/// <param name="Directory">Root of the store: holds <c>objects/</c>, <c>tmp/</c> and <c>index/</c>.</param>
/// <param name="CapacityBytes">
/// Bytes the caller intends to keep on this tier. Informational for the store (the cache compares it with
/// <see cref="SsdStore.UsedBytes"/> to decide evictions); it also sizes the index's hash table.
/// </param>
/// <param name="CheckpointInterval">
/// How often the durable index is checkpointed. Default 30 s. <see cref="Timeout.InfiniteTimeSpan"/> or zero turns
/// the timer off (the owner then calls <see cref="SsdStore.CheckpointAsync"/>). Objects written after the last
/// checkpoint are not lost on a crash: recovery re-indexes them from their file headers; the checkpoint only
/// bounds how much of that work a restart does.
/// </param>
public sealed record SsdStoreOptions(string Directory, long CapacityBytes, TimeSpan CheckpointInterval)
{
    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromSeconds(30);

    public SsdStoreOptions(string directory, long capacityBytes)
        : this(directory, capacityBytes, DefaultCheckpointInterval)
    {
    }

    internal bool CheckpointTimerEnabled => CheckpointInterval > TimeSpan.Zero && CheckpointInterval != Timeout.InfiniteTimeSpan;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("SsdStoreOptions.Directory must name a directory.", nameof(Directory));
        }

        if (CapacityBytes <= 0)
        {
            throw new ArgumentException($"SsdStoreOptions.CapacityBytes = {CapacityBytes} must be a positive number of bytes.", nameof(CapacityBytes));
        }

        if (CheckpointInterval < TimeSpan.Zero && CheckpointInterval != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"SsdStoreOptions.CheckpointInterval = {CheckpointInterval} must not be negative.", nameof(CheckpointInterval));
        }
    }
}
