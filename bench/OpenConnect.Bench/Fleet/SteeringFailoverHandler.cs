using System.Net.Sockets;

namespace OpenConnect.Bench.Fleet;

/// <summary>
/// What a browser does with a steering name that has one address per replica: a request to a
/// steering instance whose connection is refused (or cannot be made) goes to the next instance, in
/// order, with the same path and query. Requests to any other host (appliances, the origin) pass
/// through untouched: their failover is the players' pathway failover.
/// </summary>
public sealed class SteeringFailoverHandler(IReadOnlyList<Uri> replicas, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    /// <summary>Requests that went to another replica after one refused the connection.</summary>
    public long Failovers => Interlocked.Read(ref _failovers);

    private long _failovers;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var first = IndexOf(request.RequestUri);
        if (first < 0)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var original = request.RequestUri!;
        for (var attempt = 0; ; attempt++)
        {
            var replica = replicas[(first + attempt) % replicas.Count];
            request.RequestUri = new UriBuilder(original) { Scheme = replica.Scheme, Host = replica.Host, Port = replica.Port }.Uri;
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (ex.InnerException is SocketException && attempt + 1 < replicas.Count && !cancellationToken.IsCancellationRequested)
            {
                // Not connected: nothing was sent, so the same request is safe to send to the next replica.
                Interlocked.Increment(ref _failovers);
            }
        }
    }

    /// <summary>The replica <paramref name="uri"/> names, by scheme, host and port; -1 for any other host.</summary>
    public int IndexOf(Uri? uri)
    {
        for (var i = 0; uri is not null && i < replicas.Count; i++)
        {
            if (Uri.Compare(uri, replicas[i], UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                return i;
            }
        }

        return -1;
    }
}
