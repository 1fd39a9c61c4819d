using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenConnect.Bench.Throughput;

/// <summary>
/// The HTTPS case's TLS: one self-signed ECDSA P-256 certificate per run, made with openssl, served by
/// both servers; TLS 1.3 with one cipher suite (nginx pins it; the appliance's .NET/OpenSSL default
/// prefers the same one, and every run checks what each server negotiated with <c>openssl s_client</c>).
/// </summary>
internal sealed record TlsSetup(string CertificatePath, string KeyPath)
{
    public const string Protocol = "TLSv1.3";

    public const string CipherSuite = "TLS_AES_256_GCM_SHA384";

    public static async Task<TlsSetup> CreateAsync(ToolPaths tools, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var setup = new TlsSetup(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"));
        var (code, output) = await ChildProcess.RunAsync(tools.OpensslPath,
        [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", setup.KeyPath, "-out", setup.CertificatePath,
        ], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (code != 0 || !File.Exists(setup.CertificatePath) || !File.Exists(setup.KeyPath))
        {
            throw new InvalidOperationException($"openssl could not make the bench's ECDSA P-256 certificate (exit {code}):\n{output}");
        }

        return setup;
    }

    /// <summary>The protocol and cipher suite a server on <paramref name="port"/> negotiates with a default OpenSSL client (wrk and h2load use OpenSSL too).</summary>
    public static async Task<string> NegotiatedAsync(ToolPaths tools, int port, CancellationToken cancellationToken)
    {
        var (_, output) = await ChildProcess.RunAsync("bash",
            ["-c", "exec \"$1\" s_client -connect \"127.0.0.1:$2\" -servername localhost </dev/null 2>&1", "bash", tools.OpensslPath, port.ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        return ParseNegotiated(output);
    }

    /// <summary>"TLSv1.3 TLS_AES_256_GCM_SHA384" from s_client's "New, TLSv1.3, Cipher is …" line, or a <see cref="FormatException"/>.</summary>
    public static string ParseNegotiated(string sClientOutput)
    {
        var match = Regex.Match(sClientOutput, @"^New, (\S+), Cipher is (\S+)\s*$", RegexOptions.Multiline);
        return match.Success
            ? $"{match.Groups[1].Value} {match.Groups[2].Value}"
            : throw new FormatException($"openssl s_client negotiated no TLS session:\n{sClientOutput}");
    }
}
