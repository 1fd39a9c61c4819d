using System.Text;

namespace OpenConnect.Appliance.Http;

/// <summary>The Date header value, formatted once per second rather than once per response.</summary>
public sealed class HttpDate
{
    private readonly TimeProvider _time;
    private Snapshot _current = new(long.MinValue, []);

    public HttpDate(TimeProvider time) => _time = time;

    public ReadOnlySpan<byte> Current
    {
        get
        {
            var now = _time.GetUtcNow();
            var second = now.ToUnixTimeSeconds();
            var snapshot = Volatile.Read(ref _current);
            if (snapshot.Second != second)
            {
                snapshot = new Snapshot(second, Encoding.ASCII.GetBytes(Validators.FormatHttpDate(DateTimeOffset.FromUnixTimeSeconds(second))));
                Volatile.Write(ref _current, snapshot);
            }

            return snapshot.Value;
        }
    }

    private sealed record Snapshot(long Second, byte[] Value);
}
