using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Origin;
using OpenConnect.Origin.Storage;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Fleet;
using OpenConnect.Steering.Play;
using OpenConnect.Testing;
using ControlPlaneGrpc = OpenConnect.Contracts.Steering.V1.ControlPlane;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// A real origin (with a published ffmpeg package, title <c>t1</c>) and a real steering host on
/// loopback ports, steering's clock being a <see cref="FakeTimeProvider"/>; loopback clients are
/// in site <c>isp1</c> through <c>isp1.prefixes</c>. Appliances are registered over a real gRPC channel
/// with mutual TLS, each with a certificate steering's own fleet CA issued for its id and site.
/// </summary>
public sealed class SteeringHarness : IAsyncDisposable
{
    public const string Title = "t1";

    private readonly ConcurrentDictionary<string, (GrpcChannel Channel, ControlPlaneGrpc.ControlPlaneClient Client)> _appliances = new(StringComparer.Ordinal);
    private readonly List<GrpcChannel> _channels = [];
    private readonly bool _ownsState;

    private SteeringHarness(TempDirectory state, RunningRole? origin, RunningRole steering, FakeTimeProvider time, bool ownsState = true)
    {
        _ownsState = ownsState;
        State = state;
        Origin = origin;
        Steering = steering;
        Time = time;
        Http = steering.CreateClient();
        OperatorToken = File.ReadAllText(Path.Combine(state.Combine("steering"), "fleet", "operator.token")).Trim();
    }

    public TempDirectory State { get; }

    public RunningRole? Origin { get; }

    public RunningRole Steering { get; }

    public FakeTimeProvider Time { get; }

    public FleetState Fleet => Steering.Services.GetRequiredService<FleetState>();

    public Uri ControlAddress => Steering.Services.GetRequiredService<ControlEndpoint>().Address;

    public Uri EnrollAddress => Steering.Services.GetRequiredService<FleetEndpoint>().Address;

    /// <summary>The operator bearer token steering created in its fleet directory.</summary>
    public string OperatorToken { get; }

    /// <summary>A certificate (with its key) steering's CA issues for <paramref name="identity"/>, valid from steering's (fake) now.</summary>
    public X509Certificate2 IssueCertificate(FleetIdentity identity, TimeSpan? lifetime = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256);
        using var certificate = Fleet.Authority.Issue(request.PublicKey, identity, lifetime ?? TimeSpan.FromDays(7), server: false, []);
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>A gRPC channel to <paramref name="address"/> (default: the control port) presenting <paramref name="certificate"/>, trusting only steering's fleet certificate.</summary>
    public GrpcChannel ChannelWith(X509Certificate2? certificate, Uri? address = null)
    {
        var ssl = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Fleet.Trust.ServerValidator(FleetIdentity.Steering) };
        if (certificate is not null)
        {
            ssl.ClientCertificates = [certificate];
        }

        var channel = GrpcChannel.ForAddress(address ?? ControlAddress, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { SslOptions = ssl } });
        lock (_channels)
        {
            _channels.Add(channel);
        }

        return channel;
    }

    /// <summary>The control-plane client of appliance <paramref name="id"/> (its own certificate, issued on first use).</summary>
    public ControlPlaneGrpc.ControlPlaneClient ControlFor(string id, string site = "isp1") =>
        _appliances.GetOrAdd(id, _ =>
        {
            // An id no certificate can name (the tests of steering's own checks) uses a valid stand-in.
            var identity = FleetIdentity.IsValidName(id) && FleetIdentity.IsValidName(site) ? FleetIdentity.Appliance(site, id) : FleetIdentity.Appliance("isp1", "invalid-id");
            var channel = ChannelWith(IssueCertificate(identity));
            return (channel, new ControlPlaneGrpc.ControlPlaneClient(channel));
        }).Client;

    /// <summary>An HTTP client for operator calls on the enrollment listener, with the given bearer token (none when null).</summary>
    public HttpClient OperatorClient(string? token)
    {
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = Fleet.Trust.ServerValidator(FleetIdentity.Steering) } };
        var client = new HttpClient(handler) { BaseAddress = EnrollAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public HttpClient Http { get; }

    public static async Task<SteeringHarness> StartAsync(bool withOrigin = true, params string[] settings)
    {
        var state = new TempDirectory("openconnect-steering");
        RunningRole? origin = null;
        var originUrl = "http://127.0.0.1:9";
        if (withOrigin)
        {
            origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={state.Combine("origin")}");
            var staging = state.Combine("staging");
            await PackagedTitle.CopyToAsync(staging);
            await origin.Services.GetRequiredService<IObjectStore>().PublishAsync(Title, staging, CancellationToken.None);
            originUrl = origin.BaseAddress.ToString().TrimEnd('/');
        }

        var prefixes = state.Combine("steering", "prefixes");
        Directory.CreateDirectory(prefixes);
        await File.WriteAllTextAsync(Path.Combine(prefixes, "isp1.prefixes"), "# loopback clients\n127.0.0.0/8\n::1/128\n");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string[] all =
        [
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={originUrl}",
            "--Steering:CatalogCacheTime=00:00:00",
            .. settings,
        ];
        var steering = await RunningRole.StartAsync(args => SteeringHost.Build(args, s => s.AddSingleton<TimeProvider>(time)), all);
        return new SteeringHarness(state, origin, steering, time);
    }

    /// <summary>
    /// A second steering instance beside this one (a replica): its own data directory, process state
    /// and ports, sharing only what replicas are configured to share (the signing key file, the fleet
    /// directory with its CA, and the prefix tables), the same origin and the same clock. It knows
    /// nothing of this instance's registry: appliances register with it separately.
    /// </summary>
    public async Task<SteeringHarness> StartReplicaAsync(params string[] settings)
    {
        var steering = State.Combine("steering");
        string[] all =
        [
            $"--Steering:DataDirectory={State.Combine("steering-replica-" + Guid.NewGuid().ToString("N")[..8])}",
            $"--Steering:SigningKeyFile={Path.Combine(steering, "keys", "steering-signing.key")}",
            $"--Steering:Fleet:Directory={Path.Combine(steering, "fleet")}",
            $"--Steering:PrefixDirectory={Path.Combine(steering, "prefixes")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={Origin?.BaseAddress.ToString().TrimEnd('/') ?? "http://127.0.0.1:9"}",
            "--Steering:CatalogCacheTime=00:00:00",
            .. settings,
        ];
        var replica = await RunningRole.StartAsync(args => SteeringHost.Build(args, s => s.AddSingleton<TimeProvider>(Time)), all);
        return new SteeringHarness(State, null, replica, Time, ownsState: false);
    }

    public async Task<RegisterReply> RegisterAsync(string id, string site, string url, long capacity = 1_000_000_000, int maxConnections = 1000, string? instance = null, string parentUrl = "")
    {
        return await ControlFor(id, site).RegisterAsync(new RegisterRequest
        {
            Identity = new ApplianceIdentity { ApplianceId = id, Site = site, PublicUrl = url, CapacityBytesPerSecond = capacity, MaxConnections = maxConnections, SsdBytes = 1 << 30, ParentUrl = parentUrl },
            InstanceId = instance ?? id + "-instance",
        });
    }

    public async Task<HeartbeatReply> HeartbeatAsync(string id, long bytesOut = 0, bool healthy = true, bool draining = false, InventoryUpdate? inventory = null, string? instance = null, int connections = 0)
    {
        var request = new HeartbeatRequest
        {
            ApplianceId = id,
            InstanceId = instance ?? id + "-instance",
            Load = new ApplianceLoad { BytesPerSecondOut = bytesOut, Connections = connections },
            Health = new ApplianceHealth { CacheHealthy = healthy, Draining = draining },
        };
        if (inventory is not null)
        {
            request.Inventory = inventory;
        }

        return await ControlFor(id).HeartbeatAsync(request);
    }

    public static InventoryUpdate FullInventory(ulong version, params string[] entries) =>
        new() { Full = true, Version = version, ZstdEntries = InventoryCodec.Encode(entries, []) };

    public static InventoryUpdate Delta(ulong baseVersion, ulong version, string[] added, string[] removed) =>
        new() { Full = false, BaseVersion = baseVersion, Version = version, ZstdEntries = InventoryCodec.Encode(added, removed) };

    /// <summary>The pathway ids <c>/play/{title}</c> offers, best first.</summary>
    public async Task<string[]> PlayPathwaysAsync(string title = Title)
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync($"/play/{title}"));
        return document.RootElement.GetProperty("hls").GetProperty("pathways").EnumerateArray().Select(p => p.GetProperty("id").GetString()!).ToArray();
    }

    /// <summary>An HTTP/2 client on the control listener presenting <paramref name="certificate"/>, trusting only steering's fleet certificate.</summary>
    public HttpClient ControlHttp(X509Certificate2 certificate)
    {
        var handler = new SocketsHttpHandler { SslOptions = { ClientCertificates = [certificate], RemoteCertificateValidationCallback = Fleet.Trust.ServerValidator(FleetIdentity.Steering) } };
        return new HttpClient(handler) { BaseAddress = ControlAddress, DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary><c>GET /history/plays{query}</c> on the control listener, as the fill controller reads it (its fleet certificate).</summary>
    public async Task<JsonElement> GetHistoryAsync(string query = "")
    {
        using var certificate = IssueCertificate(FleetIdentity.FillController);
        using var client = ControlHttp(certificate);
        using var response = await client.GetAsync(PlayHistory.Route + query);
        Assert.True(response.IsSuccessStatusCode, $"{PlayHistory.Route}{query}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>())!;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OperatorToken);
        var response = await Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>())!;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
        await Steering.DisposeAsync();
        if (Origin is not null)
        {
            await Origin.DisposeAsync();
        }

        if (_ownsState)
        {
            State.Dispose();
        }
    }
}
