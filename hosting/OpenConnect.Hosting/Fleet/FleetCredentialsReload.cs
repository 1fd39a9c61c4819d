namespace OpenConnect.Hosting;

/// <summary>
/// A role's <see cref="FleetTlsCredentials"/> for the reloader: the certificate and key files are read
/// again when they changed (<see cref="FleetTlsCredentials.ReloadIfChanged"/>), for the role's
/// listeners and its outgoing mutual TLS alike, from the next connection on. A CA file that now holds
/// another CA is refused as needing a restart (<see cref="FleetTlsCredentials.AuthorityChanged"/>),
/// before the pair is read: a pair from the new CA would not pass the running CA's checks anyway.
/// </summary>
/// <param name="name">What it is, for the log, naming its settings.</param>
/// <param name="credentials">The credentials in use, or null when the role uses none (nothing to reload).</param>
public sealed class FleetCredentialsReload(string name, Func<FleetTlsCredentials?> credentials) : IReloadable
{
    public string Name { get; } = name;

    public bool Reload()
    {
        if (credentials() is not { } current)
        {
            return false;
        }

        if (current.AuthorityChanged() is { } authority)
        {
            throw new InvalidOperationException(authority);
        }

        if (current.ReloadIfChanged(out var refused))
        {
            return true;
        }

        return refused is null ? false : throw new InvalidOperationException(refused);
    }
}
