namespace OpenConnect.FillController.Fleet;

/// <summary>
/// A client to a fleet server that presents the fill controller's current certificate: built on
/// first use and built again after a renewal (its TLS options hold the certificate). The previous
/// one is disposed a minute later, so calls in flight on it can finish.
/// </summary>
/// <typeparam name="T">The client callers use (a gRPC client, an <see cref="HttpClient"/>).</typeparam>
/// <param name="credentials">The fill controller's fleet credentials; <see cref="FleetCredentials.Version"/> says when to rebuild.</param>
/// <param name="create">Builds the client on a handler that presents the current certificate; returns it with what owns its connections (disposed when replaced).</param>
public sealed class RenewingClient<T>(FleetCredentials credentials, Func<SocketsHttpHandler, (T Client, IDisposable Owner)> create) : IDisposable
    where T : class
{
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    private readonly object _gate = new();
    private Built? _current;

    /// <summary>The client for the current certificate.</summary>
    /// <param name="server">The identity the server must present.</param>
    public T Get(Contracts.Fleet.FleetIdentity server)
    {
        lock (_gate)
        {
            var version = credentials.Version;
            if (_current is { } current && current.Version == version)
            {
                return current.Client;
            }

            if (_current is { } previous)
            {
                _ = Task.Delay(Grace).ContinueWith(_ => previous.Owner.Dispose(), TaskScheduler.Default);
            }

            var (client, owner) = create(credentials.CreateHandler(server));
            _current = new Built(version, client, owner);
            return client;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Owner.Dispose();
            _current = null;
        }
    }

    private sealed record Built(int Version, T Client, IDisposable Owner);
}
