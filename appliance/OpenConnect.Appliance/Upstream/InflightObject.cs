namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// The response head a parent gave for an object. <paramref name="Lifetime"/>: how long a copy is fresh
/// (<see cref="Caching.FreshnessRule"/>), null when the object is immutable.
/// </summary>
public sealed record UpstreamHead(long Length, string ContentType, string ETag, DateTimeOffset LastModified, string Parent, TimeSpan? Lifetime = null);

public enum FetchOutcome : byte
{
    Ok,
    NotFound,
    /// <summary>Every parent failed or answered an error: 502.</summary>
    BadGateway,
    /// <summary>The last parent tried timed out: 504.</summary>
    GatewayTimeout,
    /// <summary>The object is larger than the cache takes: 502, and nothing is stored.</summary>
    TooLarge,
    /// <summary>Not fetched: too many fetches under way (<c>Upstream:MaxConcurrentFetches</c> or the per-title cap): 503.</summary>
    Overloaded,
    /// <summary>Refused by the integrity check before any byte was sent (see <see cref="InflightObject.Refusal"/>): 502, nothing stored.</summary>
    IntegrityRefused,
    /// <summary>The title is taken down (steering's takedown list, or the parent answered 410): 410, nothing fetched or stored.</summary>
    Gone,
    /// <summary>A revalidation the parent answered 304: the cached copy is current (see <see cref="InflightObject.Revalidating"/>).</summary>
    NotModified,
}

/// <summary>How a request's miss met the upstream fetch (reported in <c>Cache-Status</c>).</summary>
public enum FetchJoin : byte
{
    /// <summary>This request started the fetch.</summary>
    Started,
    /// <summary>It joined a fetch already under way (request collapsing).</summary>
    Collapsed,
    /// <summary>Answered 404 from the not-found cache; no parent was asked.</summary>
    NotFoundCached,
    /// <summary>Refused: too many fetches under way.</summary>
    Refused,
    /// <summary>Answered 410 from the takedown list; no parent was asked.</summary>
    TakenDown,
}

/// <summary>
/// One upstream fetch shared by every client that misses on the same object (request collapsing).
/// The body lands in one buffer sized from the parent's Content-Length; readers follow the fill
/// position and send bytes as they arrive (cut-through) instead of waiting for the whole object.
/// </summary>
public sealed class InflightObject
{
    private readonly TaskCompletionSource<(FetchOutcome Outcome, UpstreamHead? Head)> _head = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _filled;

    public InflightObject(ulong key, string path)
    {
        Key = key;
        Path = path;
    }

    public ulong Key { get; }

    /// <summary>
    /// The stale cached copy this fetch revalidates (sent as <c>If-None-Match</c> / <c>If-Modified-Since</c>),
    /// or null for a plain miss. A 304 ends the fetch with <see cref="FetchOutcome.NotModified"/>; a 200
    /// replaces the copy.
    /// </summary>
    public Caching.ObjectInfo? Revalidating { get; init; }

    public string Path { get; }

    /// <summary>The body buffer, allocated once the head is known; it becomes the cached body.</summary>
    public byte[] Body { get; private set; } = [];

    public UpstreamHead? Head { get; private set; }

    public long Filled => Volatile.Read(ref _filled);

    /// <summary>
    /// The body's SHA-256 once it was checked against the title's integrity manifest (null when the
    /// title has none): the SSD write puts it in the object header instead of hashing the body again.
    /// </summary>
    public byte[]? VerifiedSha256 { get; private set; }

    /// <summary>Why the integrity check refused the object (<see cref="FetchOutcome.IntegrityRefused"/>), or null.</summary>
    public IntegrityVerdict? Refusal { get; private set; }

    /// <summary>True once the body is complete and intact; false if the fetch failed part-way.</summary>
    public Task<bool> Completed => _completed.Task;

    public Task<(FetchOutcome Outcome, UpstreamHead? Head)> HeadTask => _head.Task;

    internal void SetHead(UpstreamHead head)
    {
        Head = head;
        Body = GC.AllocateUninitializedArray<byte>(checked((int)head.Length), pinned: true);
        _head.TrySetResult((FetchOutcome.Ok, head));
        if (head.Length == 0)
        {
            Complete(true);
        }
    }

    /// <summary>Ends the fetch with a 502 that names the integrity check's reason; no client got a byte of it.</summary>
    internal void Refuse(IntegrityVerdict refusal)
    {
        Refusal = refusal;
        Fail(FetchOutcome.IntegrityRefused);
    }

    /// <summary>
    /// Publishes a body that was read and verified in full before any client saw its head (the
    /// store-and-forward path for objects that failed verification recently).
    /// </summary>
    internal void SetVerifiedBody(UpstreamHead head, byte[] body, byte[] sha256)
    {
        Head = head;
        Body = body;
        VerifiedSha256 = sha256;
        Volatile.Write(ref _filled, body.LongLength);
        _head.TrySetResult((FetchOutcome.Ok, head));
        Complete(true);
    }

    /// <summary>The parent answered 304 to a revalidation: <paramref name="head"/> carries the new freshness lifetime.</summary>
    internal void NotModified(UpstreamHead head)
    {
        if (_head.TrySetResult((FetchOutcome.NotModified, head)))
        {
            _completed.TrySetResult(false);
        }
    }

    internal void Fail(FetchOutcome outcome)
    {
        if (_head.TrySetResult((outcome, null)))
        {
            _completed.TrySetResult(false);
        }
        else
        {
            Complete(false);
        }
    }

    /// <summary>Publishes bytes written into <see cref="Body"/> up to <paramref name="filled"/>.</summary>
    internal void Advance(long filled)
    {
        Volatile.Write(ref _filled, filled);
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Completes an intact body whose SHA-256 matched the integrity manifest.</summary>
    internal void CompleteVerified(byte[] sha256)
    {
        VerifiedSha256 = sha256;
        Complete(true);
    }

    internal void Complete(bool ok)
    {
        _completed.TrySetResult(ok);
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>
    /// Waits until more than <paramref name="position"/> bytes are filled, or the fetch ended.
    /// Returns the fill position, which equals <paramref name="position"/> only when the fetch failed.
    /// </summary>
    public async ValueTask<long> WaitBeyondAsync(long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            var progress = Volatile.Read(ref _progress).Task;
            var filled = Filled;
            if (filled > position || _completed.Task.IsCompleted)
            {
                return Filled;
            }

            await progress.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until bytes beyond <paramref name="position"/> may be sent and returns how far: the fill
    /// position, except that the last byte is held back until the body passed verification. Returns
    /// -1 when the fetch failed (cut part-way or failed verification): the client must be cut off.
    /// </summary>
    public async ValueTask<long> WaitSendableAsync(long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            var filled = await WaitBeyondAsync(position, cancellationToken).ConfigureAwait(false);
            var completed = _completed.Task;
            if (completed.IsCompleted)
            {
                return completed.Result ? filled : -1;
            }

            var available = Math.Min(filled, Body.Length - 1);
            if (available > position)
            {
                return available;
            }

            if (!await completed.WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                return -1;
            }
        }
    }
}
