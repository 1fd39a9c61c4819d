namespace OpenConnect.Hosting;

/// <summary>
/// Something a role reads from files or settings once and can swap while it runs (a certificate, a
/// key ring, a prefix table): <see cref="ConfigurationReloader"/> calls <see cref="Reload"/> on every
/// SIGHUP, after the new configuration was applied, so <c>IOptionsMonitor</c> already reads the new
/// values. Connections that already hold the old value keep it; new ones take the new one.
/// </summary>
public interface IReloadable
{
    /// <summary>What is reloaded, for the log, e.g. <c>content TLS certificate (Kestrel:Certificates:Default)</c>.</summary>
    string Name { get; }

    /// <summary>Reads the files and settings again and makes the result current.</summary>
    /// <returns>Whether something new became current (false: unchanged).</returns>
    /// <exception cref="InvalidOperationException">The new value is refused, naming the setting; the current one stays.</exception>
    bool Reload();
}
