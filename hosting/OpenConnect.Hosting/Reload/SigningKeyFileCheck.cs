using OpenConnect.Contracts.Security;

namespace OpenConnect.Hosting;

/// <summary>
/// A signing key that cannot change while the role runs (steering's, from which every appliance's and
/// the origin's playback key derives; the origin's integrity key, which appliances must trust first):
/// on a reload its file is read again, and a different key there is named as needing a restart. The
/// running key stays in use until then.
/// </summary>
/// <param name="name">What it is, for the log.</param>
/// <param name="setting">The setting that names the file, e.g. <c>Steering:SigningKeyFile</c>.</param>
/// <param name="path">The file the running key came from.</param>
/// <param name="running">The key in use.</param>
/// <param name="why">Why it needs a restart, for the log.</param>
public sealed class SigningKeyFileCheck(string name, string setting, string path, Ed25519SigningKey running, string why) : IReloadable
{
    public string Name { get; } = name;

    public bool Reload()
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{setting} '{path}' no longer exists; the running key {running.KeyId} stays");
        }

        Ed25519SigningKey onDisk;
        try
        {
            onDisk = Ed25519SigningKey.LoadOrCreate(path);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{setting}: {ex.Message}", ex);
        }

        return onDisk.KeyId == running.KeyId
            ? false
            : throw new InvalidOperationException($"{setting} '{path}' now holds key {onDisk.KeyId}, the running key is {running.KeyId}: a new signing key needs a restart (systemctl restart); {why}");
    }
}
