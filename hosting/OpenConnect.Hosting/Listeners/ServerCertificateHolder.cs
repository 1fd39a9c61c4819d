using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OpenConnect.Hosting;

/// <summary>
/// A TLS server certificate read from files, read by the listener per handshake and replaced on a
/// reload (<see cref="IReloadable"/>): new connections get the new one, open connections keep theirs.
/// A file that does not load is refused, naming its setting, and the current certificate stays.
/// </summary>
public sealed class ServerCertificateHolder : IReloadable
{
    private readonly Func<X509Certificate2> _load;
    private volatile X509Certificate2 _current;

    /// <param name="name">What it is, for the log, naming its settings.</param>
    /// <param name="load">Reads the files; throws <see cref="InvalidOperationException"/> naming the setting. May return <see cref="Current"/> itself to keep it (a certificate made rather than read, e.g. issued by the role's own CA, that has no reason to change).</param>
    /// <exception cref="InvalidOperationException">The first load failed.</exception>
    public ServerCertificateHolder(string name, Func<X509Certificate2> load)
    {
        Name = name;
        _load = load;
        _current = load();
    }

    public string Name { get; }

    /// <summary>The certificate new handshakes present (with its private key, for a server certificate).</summary>
    public X509Certificate2 Current => _current;

    public bool Reload()
    {
        var next = _load();
        if (ReferenceEquals(next, _current))
        {
            return false;
        }

        if (next.RawDataMemory.Span.SequenceEqual(_current.RawDataMemory.Span))
        {
            next.Dispose();
            return false;
        }

        // The previous certificate is not disposed: connections that negotiated with it may still use it.
        _current = next;
        return true;
    }

    /// <summary>
    /// Reads a certificate with its key: PEM (<paramref name="keyFile"/> set; <paramref name="password"/>
    /// for an encrypted key) or PKCS#12 (<paramref name="certificateFile"/> alone, with its password).
    /// </summary>
    /// <param name="setting">The setting of <paramref name="certificateFile"/>, named in every refusal.</param>
    /// <param name="certificateFile">PEM certificate, or PKCS#12 with its key when <paramref name="keyFile"/> is empty.</param>
    /// <param name="keyFile">PEM private key, or empty.</param>
    /// <param name="password">The PKCS#12 or encrypted PEM key's password, or empty.</param>
    /// <exception cref="InvalidOperationException">The files are missing or do not hold a certificate with its private key.</exception>
    public static X509Certificate2 LoadFiles(string setting, string certificateFile, string? keyFile, string? password)
    {
        if (!File.Exists(certificateFile))
        {
            throw new InvalidOperationException($"{setting} '{certificateFile}' does not exist");
        }

        try
        {
            X509Certificate2 certificate;
            if (!string.IsNullOrEmpty(keyFile))
            {
                certificate = string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(certificateFile, keyFile)
                    : X509Certificate2.CreateFromEncryptedPemFile(certificateFile, password, keyFile);
                return FleetTlsCredentials.Exportable(certificate);
            }

            certificate = X509CertificateLoader.LoadPkcs12FromFile(certificateFile, password);
            if (!certificate.HasPrivateKey)
            {
                certificate.Dispose();
                throw new InvalidOperationException($"{setting} '{certificateFile}' holds no private key");
            }

            return certificate;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            var key = string.IsNullOrEmpty(keyFile) ? "" : $" with key '{keyFile}'";
            throw new InvalidOperationException($"{setting} '{certificateFile}'{key} is not a certificate with its private key: {ex.Message}", ex);
        }
    }
}
