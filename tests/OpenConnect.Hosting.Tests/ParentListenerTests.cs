using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Hosting.Tests;

/// <summary>The kit's parent listener: TLS with a fleet server certificate, fleet client certificates required, only the role's parent paths.</summary>
public sealed class ParentListenerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FleetCertificates _fleet;
    private readonly X509Certificate2 _server;

    public ParentListenerTests()
    {
        _fleet = FleetCertificates.Create(_dir.Combine("fleet"));
        _server = _fleet.Issue("openconnect://origin", server: true);
    }

    [Fact]
    public async Task ParentListener_ServesOnlyItsPaths_ToAdmittedFleetCertificates()
    {
        await using var role = await RunningRole.StartAsync(args => KitRole.Build(args, Spec("https://127.0.0.1:0")));
        var listeners = role.Services.GetRequiredService<RoleListeners>();
        Assert.True(listeners.HasParent);
        Assert.Equal("https", listeners.ParentAddress.Scheme);
        Assert.NotEqual(role.BaseAddress.Port, listeners.ParentAddress.Port);

        using (var appliance = _fleet.Issue("openconnect://appliance/isp1/a1"))
        using (var client = Client(listeners.ParentAddress, appliance))
        {
            Assert.Equal("hello", await client.GetStringAsync("/hello"));
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/healthz")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/control/ping")).StatusCode);
        }

        using var foreign = FleetCertificates.Create(_dir.Combine("foreign"));
        foreach (var certificate in new X509Certificate2?[] { null, _fleet.Issue("openconnect://operator/alice"), foreign.Issue("openconnect://appliance/isp1/a1") })
        {
            using (certificate)
            using (var client = Client(listeners.ParentAddress, certificate))
            {
                await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetStringAsync("/hello"));
            }
        }

        // The data listener is unchanged.
        using var data = role.CreateClient();
        Assert.Equal("hello", await data.GetStringAsync("/hello"));
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("https://parent.example:8443")]
    public async Task AParentUrlThatIsNotAnHttpsListenAddress_IsNotBound(string url)
    {
        // The role's options validation names its setting; the kit never binds such an address.
        await using var role = await RunningRole.StartAsync(args => KitRole.Build(args, Spec(url)));
        Assert.False(role.Services.GetRequiredService<RoleListeners>().HasParent);
    }

    public void Dispose()
    {
        _server.Dispose();
        _fleet.Dispose();
        _dir.Dispose();
    }

    private RoleListenerSpec Spec(string parentUrl)
    {
        var trust = new FleetTrust(_fleet.Authority);
        return new RoleListenerSpec
        {
            DefaultUrls = "http://127.0.0.1:0",
            DefaultManagementUrl = "http://127.0.0.1:0",
            ParentUrl = _ => parentUrl,
            ParentTls = listen => FleetParentTls.Use(listen, () => _server, () => trust, identity => identity.Role == FleetRole.Appliance),
            ParentPaths = ["/hello"],
        };
    }

    private static HttpClient Client(Uri address, X509Certificate2? certificate) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = certificate is null ? null : [certificate],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        },
    })
    {
        BaseAddress = address,
        Timeout = TimeSpan.FromSeconds(30),
    };
}
