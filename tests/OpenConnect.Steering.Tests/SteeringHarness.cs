using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Origin;
using OpenConnect.Origin.Storage;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;
using ControlPlaneGrpc = OpenConnect.Contracts.Steering.V1.ControlPlane;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// A real origin (with a published ffmpeg package, title <c>t1</c>) and a real steering host on
/// loopback ports, steering's clock being a <see cref="FakeTimeProvider"/>; loopback clients are
/// in site <c>isp1</c> through <c>isp1.prefixes</c>. Appliances are registered over a real gRPC channel.
/// </summary>
public sealed class SteeringHarness : IAsyncDisposable
{
    public const string Title = "t1";

    private SteeringHarness(TempDirectory state, RunningRole? origin, RunningRole steering, FakeTimeProvider time)
    {
        State = state;
        Origin = origin;
        Steering = steering;
        Time = time;
        Channel = GrpcChannel.ForAddress(steering.Services.GetRequiredService<ControlEndpoint>().Address);
        Control = new ControlPlaneGrpc.ControlPlaneClient(Channel);
        Http = steering.CreateClient();
    }

    public TempDirectory State { get; }

    public RunningRole? Origin { get; }

    public RunningRole Steering { get; }

    public FakeTimeProvider Time { get; }

    public GrpcChannel Channel { get; }

    public ControlPlaneGrpc.ControlPlaneClient Control { get; }

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
            "--Steering:ControlUrl=http://127.0.0.1:0",
            $"--Steering:OriginUrl={originUrl}",
            "--Steering:CatalogCacheTime=00:00:00",
            .. settings,
        ];
        var steering = await RunningRole.StartAsync(args => SteeringHost.Build(args, s => s.AddSingleton<TimeProvider>(time)), all);
        return new SteeringHarness(state, origin, steering, time);
    }

    public async Task RegisterAsync(string id, string site, string url, long capacity = 1_000_000_000, int maxConnections = 1000, string? instance = null)
    {
        await Control.RegisterAsync(new RegisterRequest
        {
            Identity = new ApplianceIdentity { ApplianceId = id, Site = site, PublicUrl = url, CapacityBytesPerSecond = capacity, MaxConnections = maxConnections, SsdBytes = 1 << 30 },
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

        return await Control.HeartbeatAsync(request);
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

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await Http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>())!;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await Steering.DisposeAsync();
        if (Origin is not null)
        {
            await Origin.DisposeAsync();
        }

        State.Dispose();
    }
}
