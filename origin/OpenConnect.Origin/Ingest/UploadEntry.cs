namespace OpenConnect.Origin.Ingest;

/// <summary>An upload in memory: its committed record and the gate that admits one writer at a time.</summary>
public sealed class UploadEntry(UploadRecord record)
{
    private UploadRecord _current = record;

    public UploadRecord Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }

    /// <summary>Held by the request (or background task) changing the upload; a second writer gets 423.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>What the store keeps beside the record (the shared store: the multipart upload's parts and tail); null for the local store.</summary>
    internal object? StoreState { get; set; }
}
