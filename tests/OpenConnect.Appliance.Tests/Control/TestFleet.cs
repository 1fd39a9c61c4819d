using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>
/// One test fleet CA for the appliance tests (the stand-in control plane's and the control
/// endpoint's), the appliance identities it writes, and clients of an appliance's control endpoint
/// that present a given certificate and accept only the expected appliance's fleet certificate.
/// </summary>
public static class TestFleet
{
    private static readonly TempDirectory Directory = new("openconnect-test-fleet");

    public static FleetCertificates Ca { get; } = FleetCertificates.Create(Directory.Combine("ca"));

    /// <summary>A CA the appliances do not trust.</summary>
    public static FleetCertificates Foreign { get; } = FleetCertificates.Create(Directory.Combine("foreign"));

    /// <summary>The <c>Appliance:Fleet</c> settings of an appliance enrolled as <paramref name="site"/>/<paramref name="id"/> (key and certificate written).</summary>
    public static string[] ApplianceFleetSettings(string id, string site) => ApplianceFleetSettings(id, site, out _);

    public static string[] ApplianceFleetSettings(string id, string site, out string fleetDirectory)
    {
        fleetDirectory = Directory.Combine($"{site}-{id}-{Guid.NewGuid():N}");
        Ca.WriteAppliance(fleetDirectory, site, id).Dispose();
        return Ca.ApplianceSettings(fleetDirectory);
    }

    /// <summary>An HTTP/2 client of a control endpoint presenting <paramref name="certificate"/> (none when null); <paramref name="serverSeen"/> sees the server's certificate (valid during the call only).</summary>
    public static HttpClient ControlHttp(Uri control, X509Certificate2? certificate, FleetIdentity appliance, Action<X509Certificate2>? serverSeen = null) =>
        new(Handler(certificate, appliance, serverSeen))
        {
            BaseAddress = control,
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>A gRPC channel to a control endpoint presenting <paramref name="certificate"/> (none when null).</summary>
    public static GrpcChannel ControlGrpc(Uri control, X509Certificate2? certificate, FleetIdentity appliance) =>
        GrpcChannel.ForAddress(control, new GrpcChannelOptions { HttpHandler = Handler(certificate, appliance, serverSeen: null), DisposeHttpClient = true });

    private static SocketsHttpHandler Handler(X509Certificate2? certificate, FleetIdentity appliance, Action<X509Certificate2>? serverSeen)
    {
        var validator = new FleetTrust(Ca.Authority).ServerValidator(appliance);
        var options = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (sender, server, chain, errors) =>
            {
                if (server is X509Certificate2 seen)
                {
                    serverSeen?.Invoke(seen);
                }

                return validator(sender, server, chain, errors);
            },
        };
        if (certificate is not null)
        {
            options.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        }

        return new SocketsHttpHandler { SslOptions = options, ConnectTimeout = TimeSpan.FromSeconds(10) };
    }
}
