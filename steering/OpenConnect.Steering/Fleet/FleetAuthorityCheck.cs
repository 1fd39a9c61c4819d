using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// The fleet CA on a reload: every certificate steering issued, and its trust in them, hang on it, so
/// another <c>ca.crt</c> or <c>ca.key</c> in the fleet directory (a new fleet, or a CA certificate
/// renewed for the same key) is named as needing a restart. The running CA keeps issuing and trusting
/// until then. A file that no longer reads is named too.
/// </summary>
/// <param name="authority">The running CA.</param>
/// <param name="directory">The fleet directory it was loaded from.</param>
public sealed class FleetAuthorityCheck(FleetAuthority authority, string directory) : IReloadable
{
    public string Name => $"fleet CA ({SteeringOptions.SectionName}:Fleet:Directory)";

    public bool Reload()
    {
        var certificatePath = Path.Combine(directory, FleetAuthority.CertificateFileName);
        var keyPath = Path.Combine(directory, FleetAuthority.KeyFileName);
        try
        {
            using var onDisk = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
            if (!onDisk.RawDataMemory.Span.SequenceEqual(authority.Certificate.RawDataMemory.Span))
            {
                throw NeedsRestart($"'{certificatePath}' now holds another CA certificate ({onDisk.Subject}, {onDisk.Thumbprint}) than the running one ({authority.Certificate.Thumbprint})");
            }

            using var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(keyPath));
            using var running = authority.Certificate.GetECDsaPublicKey();
            if (running is null || !key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(running.ExportSubjectPublicKeyInfo()))
            {
                throw NeedsRestart($"'{keyPath}' now holds another key than the running CA's");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"the fleet CA in {SteeringOptions.SectionName}:Fleet:Directory '{directory}' no longer reads ({ex.Message}); the running CA stays", ex);
        }

        return false;
    }

    private static InvalidOperationException NeedsRestart(string what) =>
        new($"{what}: a new fleet CA needs a restart (systemctl restart), and every appliance and service then needs a certificate from it; the running CA keeps issuing and trusting until then");
}
