using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Hosting;

/// <summary>
/// A role's fleet TLS credentials: its own fleet certificate with the private key, and the fleet CA
/// every peer's certificate must chain to (<see cref="Trust"/>). The certificate is replaced in place
/// on renewal (<see cref="Install"/>); every new connection, client or server, takes
/// <see cref="Current"/> anew, and <see cref="Version"/> tells clients to rebuild their connections.
/// The appliance, the origin and the fill controller hold one each; the loaders name the setting in
/// every refusal, so a wrong file stops a start with a readable reason.
/// </summary>
public sealed class FleetTlsCredentials : IDisposable
{
    private readonly object _gate = new();
    private volatile Issued? _current;
    private Source? _source;

    /// <param name="authority">The fleet CA certificate; disposed with these credentials.</param>
    /// <param name="time">The clock peers' certificates are checked against (default: the system's).</param>
    public FleetTlsCredentials(X509Certificate2 authority, TimeProvider? time = null)
    {
        Authority = authority;
        Trust = new FleetTrust(authority, time: time);
    }

    public X509Certificate2 Authority { get; }

    public FleetTrust Trust { get; }

    /// <summary>The certificate in use, with its private key; null until one is installed (an appliance before enrollment).</summary>
    public X509Certificate2? Current => _current?.Certificate;

    /// <summary>0 before the first certificate, then grows with every <see cref="Install"/>.</summary>
    public int Version => _current?.Version ?? 0;

    /// <summary>
    /// Loads and checks a role's three files: each exists, the key is owner-only, the CA is a PEM
    /// certificate, the certificate is for the key, issued by that CA, valid now, usable as
    /// <paramref name="use"/> says and naming <paramref name="identity"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">What is wrong, naming the setting and the file.</exception>
    public static FleetTlsCredentials Load(FleetCredentialFiles files, FleetIdentity identity, FleetCertificateUse use, TimeProvider? time = null)
    {
        var section = files.Section;
        RequireFile(files.CaCertificateFile, $"{section}:CaCertificateFile", "copy ca.crt from steering's fleet directory");
        RequireFile(files.CertificateFile, $"{section}:CertificateFile", $"have steering issue one: POST /fleet/certificates {{\"identity\":\"{identity}\",\"csr\":\"<PEM>\"}} on its enrollment listener with the operator token");
        RequireFile(files.KeyFile, $"{section}:KeyFile", "the private key the certificate request was made with");

        var credentials = new FleetTlsCredentials(LoadAuthority(files.CaCertificateFile, $"{section}:CaCertificateFile"), time);
        var source = new Source(files, identity, use);
        try
        {
            source.Stamp = Source.StampOf(files);
            credentials.Install(credentials.Read(source));
        }
        catch (InvalidOperationException)
        {
            credentials.Dispose();
            throw;
        }

        credentials._source = source;
        return credentials;
    }

    /// <summary>
    /// For credentials from <see cref="Load"/>: re-reads the certificate and key files when either
    /// changed on disk since they were last read (an operator put a renewed pair in place), and
    /// makes the new certificate current when it passes the same checks as at start. Cheap enough
    /// to call per TLS handshake (two file stats while nothing changed); a refused pair is not read
    /// again until it changes again, and the current certificate stays.
    /// </summary>
    /// <param name="refused">Why a changed pair was refused, naming the setting; null otherwise.</param>
    /// <returns>Whether a new certificate became current.</returns>
    public bool ReloadIfChanged(out string? refused)
    {
        refused = null;
        if (_source is not { } source || Source.StampOf(source.Files) == source.Stamp)
        {
            return false;
        }

        lock (_gate)
        {
            var stamp = Source.StampOf(source.Files);
            if (stamp == source.Stamp)
            {
                return false;
            }

            source.Stamp = stamp;
            try
            {
                var read = Read(source);
                if (Current is { } current && read.RawDataMemory.Span.SequenceEqual(current.RawDataMemory.Span))
                {
                    // The role wrote it itself (a renewal it installed), or the files were touched: nothing new.
                    read.Dispose();
                    return false;
                }

                Install(read);
                return true;
            }
            catch (InvalidOperationException ex)
            {
                refused = ex.Message;
                return false;
            }
        }
    }

    /// <summary>
    /// For credentials from <see cref="Load"/>: why the CA file on disk cannot be taken while the role
    /// runs, or null when it still holds the CA in use. Every peer's certificate and this role's own
    /// chain to that CA, so a different one (a new fleet) needs a restart; the running CA stays trusted.
    /// </summary>
    public string? AuthorityChanged()
    {
        if (_source is not { } source)
        {
            return null;
        }

        var setting = $"{source.Files.Section}:CaCertificateFile";
        X509Certificate2 onDisk;
        try
        {
            onDisk = LoadAuthority(source.Files.CaCertificateFile, setting);
        }
        catch (InvalidOperationException ex)
        {
            return $"{ex.Message}; the running fleet CA stays";
        }

        using (onDisk)
        {
            return onDisk.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span)
                ? null
                : $"{setting} '{source.Files.CaCertificateFile}' now holds another CA ({onDisk.Subject}, {onDisk.Thumbprint}) than the running one ({Authority.Thumbprint}): a new fleet CA needs a restart (systemctl restart); the running CA stays trusted until then";
        }
    }

    /// <summary>Reads the fleet CA certificate (PEM) from <paramref name="file"/>, configured as <paramref name="setting"/>.</summary>
    /// <exception cref="InvalidOperationException">The file is missing or not a PEM certificate, naming the setting.</exception>
    public static X509Certificate2 LoadAuthority(string file, string setting)
    {
        RequireFile(file, setting, "copy ca.crt from steering's fleet directory");
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(file));
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"{setting} '{file}' is not a PEM certificate: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Why <paramref name="certificate"/> cannot be this role's own, or null: it must chain to the
    /// fleet CA, be valid now, name <paramref name="identity"/> and be usable as <paramref name="use"/> says.
    /// </summary>
    public string? Refusal(X509Certificate2 certificate, FleetIdentity identity, FleetCertificateUse use)
    {
        var verdict = use == FleetCertificateUse.ClientAndServer ? Trust.CheckClient(certificate) : Trust.CheckServer(certificate);
        if (verdict.Identity != identity)
        {
            return verdict.Problem ?? $"it names {verdict.Identity}, not {identity}";
        }

        // The role's listeners serve TLS with this certificate: peers check it as a server's.
        if (use == FleetCertificateUse.ClientAndServer && Trust.CheckServer(certificate).Identity != identity)
        {
            return "it is not valid for TLS servers (no serverAuth usage): have steering issue a new one";
        }

        return null;
    }

    /// <summary>Makes <paramref name="certificate"/> (with its key) current. The previous one stays usable by connections that already hold it; it is not disposed.</summary>
    public void Install(X509Certificate2 certificate)
    {
        lock (_gate)
        {
            _current = new Issued(certificate, Version + 1);
        }
    }

    /// <summary>
    /// TLS client options for one new connection: the current certificate (none before the first is
    /// installed), and the server must hold a fleet certificate naming <paramref name="server"/>.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(FleetIdentity server)
    {
        var options = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Trust.ServerValidator(server) };
        if (Current is { } certificate)
        {
            options.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        }

        return options;
    }

    /// <summary>
    /// TLS client options for a handler whose credentials may come later (an appliance enrolls after
    /// its services are built): the current certificate chosen per handshake, and the server must
    /// hold a fleet certificate naming an identity <paramref name="accepts"/> takes.
    /// </summary>
    /// <param name="credentials">Read per handshake; null refuses every server.</param>
    /// <param name="accepts">Which server identities are accepted.</param>
    /// <param name="refused">Told the server's host name and the check's verdict (null: no credentials yet) when a server is refused.</param>
    public static SslClientAuthenticationOptions ClientOptions(Func<FleetTlsCredentials?> credentials, Func<FleetIdentity, bool> accepts, Action<string, FleetVerdict?> refused) => new()
    {
        LocalCertificateSelectionCallback = (_, _, _, _, _) => credentials()?.Current!,
        RemoteCertificateValidationCallback = (sender, certificate, _, _) =>
        {
            var host = (sender as SslStream)?.TargetHostName ?? "?";
            if (credentials() is not { } current)
            {
                refused(host, null);
                return false;
            }

            var verdict = current.Trust.CheckServer(certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())));
            if (verdict.Identity is { } identity && accepts(identity))
            {
                return true;
            }

            refused(host, verdict);
            return false;
        },
    };

    /// <summary>Writes <paramref name="certificate"/> (PEM, no key) to <paramref name="path"/>: a temporary file, then a rename, so readers never see half a file.</summary>
    public static void Save(string path, X509Certificate2 certificate)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, certificate.ExportCertificatePem() + "\n");
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>SslStream on Linux needs the key in a form it can hand to OpenSSL: round-trip through PKCS#12. Disposes <paramref name="certificate"/>.</summary>
    public static X509Certificate2 Exportable(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }

    public void Dispose()
    {
        Current?.Dispose();
        Authority.Dispose();
    }

    /// <summary>Reads and checks <paramref name="source"/>'s certificate and key: the key owner-only, the certificate for it, this CA's, valid now, the source's identity and use.</summary>
    /// <exception cref="InvalidOperationException">What is wrong, naming the setting and the file.</exception>
    private X509Certificate2 Read(Source source)
    {
        var (section, certificateFile, keyFile, caCertificateFile) = source.Files;
        try
        {
            PrivateFile.RequireOwnerOnly(keyFile);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            throw new InvalidOperationException($"{section}:KeyFile {ex.Message}", ex);
        }

        X509Certificate2 certificate;
        try
        {
            certificate = Exportable(X509Certificate2.CreateFromPemFile(certificateFile, keyFile));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException)
        {
            throw new InvalidOperationException($"{section}:CertificateFile '{certificateFile}' with {section}:KeyFile '{keyFile}' is not a PEM certificate and its private key: {ex.Message}", ex);
        }

        if (Refusal(certificate, source.Identity, source.Use) is { } problem)
        {
            certificate.Dispose();
            throw new InvalidOperationException($"{section}:CertificateFile '{certificateFile}' is not a fleet certificate for {source.Identity} from {section}:CaCertificateFile '{caCertificateFile}': {problem}");
        }

        return certificate;
    }

    private static void RequireFile(string path, string setting, string hint)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{setting} '{path}' does not exist ({hint})");
        }
    }

    private sealed record Issued(X509Certificate2 Certificate, int Version);

    /// <summary>The files credentials were loaded from, what they must hold, and when they were last read.</summary>
    private sealed class Source(FleetCredentialFiles files, FleetIdentity identity, FleetCertificateUse use)
    {
        public FleetCredentialFiles Files { get; } = files;

        public FleetIdentity Identity { get; } = identity;

        public FleetCertificateUse Use { get; } = use;

        public (DateTime Certificate, DateTime Key) Stamp { get; set; }

        /// <summary>The files' last write times (a missing file reads as a fixed time far in the past).</summary>
        public static (DateTime Certificate, DateTime Key) StampOf(FleetCredentialFiles files) =>
            (File.GetLastWriteTimeUtc(files.CertificateFile), File.GetLastWriteTimeUtc(files.KeyFile));
    }
}
