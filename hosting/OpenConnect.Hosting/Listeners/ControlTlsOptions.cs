namespace OpenConnect.Hosting;

/// <summary>
/// TLS for a role's control listener: the server certificate and key (PEM) and the CA whose
/// certificates clients must present. All empty (the default) leaves the listener cleartext HTTP/2.
/// When set, every client must present a certificate that chains to <see cref="CaCertificateFile"/>
/// (plus whatever the role's <see cref="IControlClientCertificateValidator"/> adds).
/// </summary>
public sealed class ControlTlsOptions : IRoleOptions<ControlTlsOptions>
{
    public static string SectionName => "ControlTls";

    /// <summary>PEM server certificate (may include its chain). Default: empty (cleartext).</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM private key of <see cref="CertificateFile"/>. Default: empty.</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>PEM CA certificate that client certificates must chain to. Default: empty.</summary>
    public string CaCertificateFile { get; set; } = "";

    public bool IsConfigured => CertificateFile.Length > 0 || KeyFile.Length > 0 || CaCertificateFile.Length > 0;

    /// <summary>All three files or none; each must exist.</summary>
    public void Validate(OptionsCheck check)
    {
        if (!IsConfigured)
        {
            return;
        }

        Require(check, CertificateFile, "CertificateFile");
        Require(check, KeyFile, "KeyFile");
        Require(check, CaCertificateFile, "CaCertificateFile");
    }

    private static void Require(OptionsCheck check, string path, string key)
    {
        check.Require(path.Length > 0, key, path, "a PEM file is required when any control TLS file is set (server certificate, key and client CA go together)");
        check.Require(path.Length == 0 || File.Exists(path), key, path, "file does not exist");
    }
}
