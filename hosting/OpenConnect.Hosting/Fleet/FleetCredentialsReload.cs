namespace OpenConnect.Hosting;

/// <summary>
/// A role's <see cref="FleetTlsCredentials"/> for the reloader: the certificate and key files are read
/// again when they changed (<see cref="FleetTlsCredentials.ReloadIfChanged"/>), for the role's
/// listeners and its outgoing mutual TLS alike, from the next connection on.
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

        if (current.ReloadIfChanged(out var refused))
        {
            return true;
        }

        return refused is null ? false : throw new InvalidOperationException(refused);
    }
}
