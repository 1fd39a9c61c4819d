using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>Fleet certificates and mutual-TLS clients for the fill controller's tests.</summary>
public static class FleetClients
{
    /// <summary>
    /// Asserts a gRPC call was refused at the TLS handshake: no gRPC status came from the server, the
    /// client reports the failed connection (Unavailable, or Internal when the server's alert arrives
    /// while the client is still writing; which of the two is timing) and a TLS or I/O failure lies
    /// underneath (a connection refused by a closed port has neither). Under TLS 1.3 the client's side
    /// of the handshake can finish before the server checks the client certificate; when the server's
    /// refusal closes the connection just as the client's HTTP/2 connection starts, the client's pool
    /// reports the new connection unusable ("… did not complete the HTTP/2 handshake", with nothing
    /// under it): the same refusal, seen later.
    /// </summary>
    public static void AssertRefusedAtHandshake(Grpc.Core.RpcException refused)
    {
        Assert.True(refused.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.Internal, $"expected a failed connection, got {refused.StatusCode}: {refused.Status.Detail}");
        var causes = new List<Exception>();
        for (var e = refused.Status.DebugException; e is not null; e = e.InnerException)
        {
            causes.Add(e);
        }

        Assert.True(causes.Any(e => e is System.Security.Authentication.AuthenticationException or IOException || IsUnusableNewHttp2Connection(e)), $"expected a TLS or I/O failure under {refused.StatusCode}: {string.Join(" <- ", causes.Select(e => $"{e.GetType().Name}: {e.Message}"))}");
    }

    private static bool IsUnusableNewHttp2Connection(Exception e) =>
        e is HttpRequestException { InnerException: null, HttpRequestError: HttpRequestError.Unknown } && e.Message.Contains("HTTP/2 handshake", StringComparison.Ordinal);

    /// <summary>
    /// Writes the fill controller's key (0600) and a certificate for <c>openconnect://fill-controller</c>
    /// (client and server use, as steering issues it) into <paramref name="directory"/>.
    /// </summary>
    public static (string CertificateFile, string KeyFile) WriteFillController(FleetCertificates fleet, string directory, DateTimeOffset? notBefore = null, TimeSpan? lifetime = null, bool server = true)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // Valid from a few minutes back: steering may run on a fake clock set before this was written.
        using var certificate = fleet.Issue(key, FleetIdentity.FillController.ToString(), server: server, notBefore: notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5), lifetime: lifetime);
        var keyFile = Path.Combine(directory, "fill-controller.key");
        var certificateFile = Path.Combine(directory, "fill-controller.crt");
        PrivateFile.Write(keyFile, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        return (certificateFile, keyFile);
    }

    /// <summary>
    /// An HTTP/2 client to <paramref name="address"/> presenting <paramref name="certificate"/> (none
    /// when null); the server must hold a fleet certificate naming <paramref name="server"/>.
    /// </summary>
    public static HttpClient Http2(Uri address, X509Certificate2? certificate, X509Certificate2 authority, FleetIdentity server)
    {
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = new FleetTrust(authority).ServerValidator(server) } };
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        return new HttpClient(handler)
        {
            BaseAddress = address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }
}
