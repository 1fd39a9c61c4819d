using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>
/// Bounds the password hashes computed at once (<c>PasswordHashConcurrency</c>) and the ones waiting
/// for a slot (<c>PasswordHashQueue</c>). A PBKDF2 hash costs a core for a quarter of a second at the
/// default cost, so without this bound a burst of logins would take the whole CPU; beyond the queue
/// the caller is refused at once (the endpoint answers 503 with <c>Retry-After</c>).
/// </summary>
public sealed class PasswordHashGate
{
    private readonly SemaphoreSlim _slots;
    private readonly int _capacity;
    private int _admitted;
    private int _running;
    private int _peakRunning;
    private long _refused;

    public PasswordHashGate(IOptions<OriginOptions> options)
    {
        var catalog = options.Value.Catalog;
        _slots = new SemaphoreSlim(catalog.PasswordHashConcurrency, catalog.PasswordHashConcurrency);
        _capacity = catalog.PasswordHashConcurrency + catalog.PasswordHashQueue;
    }

    /// <summary>The most hashes that ran at the same time since start.</summary>
    public int PeakRunning => Volatile.Read(ref _peakRunning);

    /// <summary>Hashes refused because every slot and queue place was taken.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Runs <paramref name="hash"/> on the thread pool within the bound; <c>Admitted</c> is false when the queue was full.</summary>
    public async Task<(bool Admitted, T Value)> TryRunAsync<T>(Func<T> hash, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            Interlocked.Increment(ref _refused);
            return (false, default!);
        }

        try
        {
            return (true, await RunAsync(hash, ct));
        }
        finally
        {
            Interlocked.Decrement(ref _admitted);
        }
    }

    /// <summary>Runs <paramref name="hash"/> within the concurrency bound, waiting however long it takes (start-up work).</summary>
    public async Task<T> RunAsync<T>(Func<T> hash, CancellationToken ct)
    {
        await _slots.WaitAsync(ct);
        try
        {
            var running = Interlocked.Increment(ref _running);
            int peak;
            while (running > (peak = Volatile.Read(ref _peakRunning)) && Interlocked.CompareExchange(ref _peakRunning, running, peak) != peak)
            {
            }

            return await Task.Run(hash, ct);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _slots.Release();
        }
    }
}
