using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using OpenConnect.Appliance.Identity;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// The appliance's control listener (<see cref="ApplianceOptions.ControlUrl"/>): HTTP/2 over TLS
/// only. The server certificate is the appliance's own fleet certificate, taken anew for every
/// handshake so a renewed one is served without a restart; the client must present a certificate
/// that <see cref="Contracts.Fleet.FleetTrust.CheckClient"/> accepts (chained to the fleet CA alone,
/// in its validity, client use, one fleet identity). Which identities may do what is
/// <see cref="ControlGate"/>'s business. An appliance without a fleet identity has no control listener.
/// </summary>
public static class ControlListener
{
    /// <summary>Whether <paramref name="urls"/> (<c>;</c>-separated) are listener addresses, all <c>https://</c>.</summary>
    public static bool IsValidUrl(string urls)
    {
        var (parsed, problem) = ListenUrls.TryParse(urls);
        return problem is null && parsed.All(url => url.Scheme == Uri.UriSchemeHttps);
    }

    /// <summary>
    /// The addresses to listen on, or null for none: without a fleet identity (no
    /// <c>Appliance:Fleet:CaCertificateFile</c>), when turned off (empty), or when the setting is
    /// invalid (options validation then stops the start, naming the key).
    /// </summary>
    public static string? Urls(IConfiguration configuration)
    {
        var appliance = RoleOptionsRegistration.BindOrDefaults<ApplianceOptions>(configuration);
        return HasFleetIdentity(appliance) && appliance.ControlUrl.Length > 0 && IsValidUrl(appliance.ControlUrl) ? appliance.ControlUrl : null;
    }

    public static bool HasFleetIdentity(ApplianceOptions appliance) => appliance.Fleet.CaCertificateFile.Length > 0;

    /// <summary>TLS on the control listener with the appliance's fleet certificate; a client certificate from the fleet CA is required.</summary>
    public static void UseFleetTls(ListenOptions listen)
    {
        var services = listen.ApplicationServices;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ControlListener).FullName!);
        var contexts = new CertificateContexts();
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            OnConnection = context =>
            {
                var remote = context.Connection.RemoteEndPoint?.ToString() ?? "?";
                // Enrollment finishes before the server starts; this guards a handshake that would race it.
                var credentials = services.GetRequiredService<FleetEnrollment>().Credentials;
                if (credentials?.Current is null)
                {
                    ControlLog.NoCertificateYet(logger, remote);
                    throw new AuthenticationException("the appliance has no fleet certificate yet (enrollment pending)");
                }

                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = contexts.For(credentials),
                    ClientCertificateRequired = true,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    {
                        var verdict = credentials.Trust.CheckClient(certificate as X509Certificate2);
                        if (verdict.Identity is null)
                        {
                            ControlLog.HandshakeRefused(logger, remote, verdict.Problem ?? "refused");
                            return false;
                        }

                        return true;
                    },
                });
            },
        });
    }

    /// <summary>One TLS certificate context per certificate version: built once, replaced when the certificate is renewed.</summary>
    private sealed class CertificateContexts
    {
        private volatile Entry? _entry;

        public SslStreamCertificateContext For(ApplianceCredentials credentials)
        {
            var version = credentials.Version;
            var entry = _entry;
            if (entry is null || entry.Version != version || !ReferenceEquals(entry.Credentials, credentials))
            {
                entry = new Entry(credentials, version, SslStreamCertificateContext.Create(credentials.Current!, additionalCertificates: null, offline: true));
                _entry = entry;
            }

            return entry.Context;
        }

        private sealed record Entry(ApplianceCredentials Credentials, int Version, SslStreamCertificateContext Context);
    }
}
