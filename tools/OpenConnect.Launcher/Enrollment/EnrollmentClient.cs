using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Launcher.Enrollment;

/// <summary>
/// The operator's side of enrollment, on steering's enrollment listener with the operator token
/// steering writes into its fleet directory (sent from a header file, never on a command line):
/// issue a service's or the operator's certificate from a key made here and a certificate request,
/// add an appliance and get its one-time code, remove one. Calls are made with curl from steering's
/// host (inside its namespace on the bed), trusting the fleet CA.
/// </summary>
public sealed class EnrollmentClient(FleetLayout layout, LaunchedRole? steering = null)
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    private bool _headerWritten;

    private string HeaderFile => Path.Combine(layout.OperatorDirectory, "token.header");

    /// <summary>
    /// An operator call (<c>/fleet/…</c>) on steering's enrollment listener; status 0 when no HTTP
    /// answer came. <paramref name="json"/>, when given, is sent as the JSON body.
    /// </summary>
    public Task<(int Status, string Body)> OperatorAsync(string method, string path, object? json = null, CancellationToken cancellationToken = default) =>
        OperatorOnAsync(FleetLayout.Steering, method, path, json, cancellationToken);

    /// <summary>
    /// An operator call on steering instance <paramref name="replica"/>'s enrollment listener (a replica
    /// reads the same operator token), made with curl from that instance's host.
    /// </summary>
    public async Task<(int Status, string Body)> OperatorOnAsync(string replica, string method, string path, object? json = null, CancellationToken cancellationToken = default)
    {
        if (!_headerWritten)
        {
            var token = File.Exists(layout.OperatorTokenFile) ? (await File.ReadAllTextAsync(layout.OperatorTokenFile, cancellationToken).ConfigureAwait(false)).Trim() : "";
            if (token.Length == 0)
            {
                throw new LaunchException($"steering's operator token {layout.OperatorTokenFile} is missing or empty: steering writes it at its first start");
            }

            Directory.CreateDirectory(layout.OperatorDirectory);
            await SecretFile.WriteAsync(HeaderFile, $"Authorization: Bearer {token}\n", cancellationToken).ConfigureAwait(false);
            _headerWritten = true;
        }

        List<string> command = ["curl", "-sS", "-X", method, "--max-time", "10", "--cacert", layout.CaCertificateFile, "-H", "@" + HeaderFile];
        if (json is not null)
        {
            command.AddRange(["-H", "Content-Type: application/json", "--data-binary", JsonSerializer.Serialize(json)]);
        }

        var enroll = layout.Host(replica).SecureUrl(layout.Port(replica) + FleetLayout.EnrollOffset);
        command.AddRange(["-o", "-", "-w", "\n%{http_code}", enroll + path]);
        var result = await CommandRunner.RunOnAsync(layout.Host(replica), command, TimeSpan.FromSeconds(20), cancellationToken: cancellationToken).ConfigureAwait(false);
        return ParseCurl(result.StandardOutput);
    }

    /// <summary>Splits curl's <c>-w "\n%{http_code}"</c> output into the status (0: no answer) and the body.</summary>
    public static (int Status, string Body) ParseCurl(string output)
    {
        var text = output.TrimEnd('\n');
        var cut = text.LastIndexOf('\n');
        var status = int.TryParse(text[(cut + 1)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 0;
        return (status, cut < 0 ? "" : text[..cut]);
    }

    /// <summary>
    /// A certificate for <paramref name="identity"/> (<c>openconnect://origin</c>, an operator's) in
    /// <paramref name="directory"/> as <c>{name}.crt</c> beside its key <c>{name}.key</c> (mode 0600,
    /// never sent; made on first use and kept, so a renewed certificate keeps its public key). One
    /// still valid for a day is reused; a service's must allow TLS server authentication, since it
    /// serves with it.
    /// </summary>
    public async Task IssueCertificateAsync(string directory, string name, string identity, bool server, CancellationToken cancellationToken = default)
    {
        var certificateFile = Path.Combine(directory, name + ".crt");
        var keyFile = Path.Combine(directory, name + ".key");
        if (File.Exists(keyFile) && IsReusable(certificateFile, server))
        {
            return;
        }

        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(keyFile))
        {
            key.ImportFromPem(await File.ReadAllTextAsync(keyFile, cancellationToken).ConfigureAwait(false));
        }
        else
        {
            await SecretFile.WriteAsync(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n", cancellationToken).ConfigureAwait(false);
        }

        var csr = new CertificateRequest("CN=openconnect-" + name, key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var (status, body) = await OperatorAsync("POST", "/fleet/certificates", new { identity, csr }, cancellationToken).ConfigureAwait(false);
        if (status != 200)
        {
            throw Refused($"steering at {layout.EnrollUrl} did not issue the {identity} certificate ({Answer(status, body)})");
        }

        using var answer = JsonDocument.Parse(body);
        var certificate = answer.RootElement.TryGetProperty("certificate", out var pem) ? pem.GetString() : null;
        if (string.IsNullOrWhiteSpace(certificate))
        {
            throw Refused($"steering's answer holds no certificate: {body}");
        }

        await File.WriteAllTextAsync(certificateFile + ".tmp", certificate.TrimEnd('\n') + "\n", cancellationToken).ConfigureAwait(false);
        File.Move(certificateFile + ".tmp", certificateFile, overwrite: true);
    }

    /// <summary>Whether <paramref name="certificateFile"/> holds a certificate valid for at least another day (and, for a <paramref name="server"/>, allowed for TLS server authentication).</summary>
    public static bool IsReusable(string certificateFile, bool server)
    {
        if (!File.Exists(certificateFile))
        {
            return false;
        }

        try
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
            return certificate.NotAfter.ToUniversalTime() > DateTime.UtcNow.AddDays(1)
                && (!server || certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == ServerAuthentication)));
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The operator adds appliance <paramref name="id"/> of <paramref name="site"/> (<c>POST /fleet/appliances</c>); its one-time enrollment code.</summary>
    public async Task<string> AddApplianceAsync(string id, string site, CancellationToken cancellationToken = default)
    {
        var (status, body) = await OperatorAsync("POST", "/fleet/appliances", new { id, site }, cancellationToken).ConfigureAwait(false);
        if (status != 200)
        {
            throw Refused($"could not add appliance {id} ({site}) to the fleet at {layout.EnrollUrl} ({Answer(status, body)})");
        }

        using var answer = JsonDocument.Parse(body);
        return answer.RootElement.TryGetProperty("code", out var code) && code.GetString() is { Length: > 0 } value ? value : throw Refused($"no enrollment code in steering's answer: {body}");
    }

    /// <summary>
    /// Appliance <paramref name="id"/>'s enrollment: nothing when it holds a certificate already (it
    /// renews its own); otherwise the operator adds it and its code goes into its enrollment code file.
    /// </summary>
    public async Task EnrollApplianceAsync(string id, CancellationToken cancellationToken = default)
    {
        var directory = layout.FleetCertificateDirectory(id);
        if (File.Exists(Path.Combine(directory, "appliance.crt")))
        {
            return;
        }

        var code = await AddApplianceAsync(id, layout.SiteOf(id), cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(directory);
        await SecretFile.WriteAsync(RoleSettings.EnrollmentCodeFile(layout, id), code + "\n", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The operator removes appliance <paramref name="id"/> (<c>DELETE /fleet/appliances/{id}</c>): its certificates are revoked and steering drops it.</summary>
    public async Task RemoveApplianceAsync(string id, CancellationToken cancellationToken = default)
    {
        var (status, body) = await OperatorAsync("DELETE", "/fleet/appliances/" + Uri.EscapeDataString(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (status != 200)
        {
            throw Refused($"removing appliance {id} answered {Answer(status, body)}");
        }
    }

    /// <summary>
    /// curl's <c>--pinnedpubkey</c> for a certificate's key file: <c>sha256//</c> and the base64 SHA-256
    /// of its public key (the fill controller's certificate names no host, so clients check its key).
    /// </summary>
    public static string PublicKeyPin(string keyFile)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(keyFile));
        return "sha256//" + Convert.ToBase64String(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }

    private static string Answer(int status, string body) => status == 0 ? "no answer" : $"HTTP {status}: {body}";

    private LaunchException Refused(string message) =>
        new(steering is null ? message : $"{message}; last lines of {steering.LogFile}:\n{steering.Tail()}");
}
