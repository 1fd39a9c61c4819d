using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenConnect.Appliance.Control;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Security;
using OpenConnect.Contracts.Steering.V1;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>
/// A real gRPC ControlPlane server on loopback standing in for steering's side of the protocol: it
/// records what appliances send and applies inventory updates the way steering must (a delta only on
/// the version it holds, else it asks for the full set). Like steering it listens with TLS, presents
/// an <c>openconnect://steering</c> certificate from a test fleet CA and requires a client certificate
/// from that CA; <see cref="FleetSettings"/> gives an appliance its certificate.
/// </summary>
public sealed class RecordingControlPlane : ControlPlane.ControlPlaneBase, IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _inventory = new(StringComparer.Ordinal);
    private ulong _inventoryVersion;
    private string? _knownInstance;

    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 ServerCertificate = TestFleet.Ca.IssueSteering();

    private RecordingControlPlane(int port)
    {
        Port = port;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var trust = new FleetTrust(TestFleet.Ca.Authority);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            l.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = ServerCertificate,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (certificate, _, _) => trust.CheckClient(certificate).Identity is not null,
            });
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        _app = builder.Build();
        _app.MapGrpcService<RecordingControlPlane>();
    }

    public int Port { get; }

    public Uri Url => new($"https://127.0.0.1:{Port}");

    /// <summary>Identities of the callers, as their client certificates name them.</summary>
    public ConcurrentQueue<FleetIdentity> Callers { get; } = new();

    /// <summary>Settings giving an appliance a fleet certificate for <paramref name="site"/>/<paramref name="id"/> from this stand-in's CA.</summary>
    public static string[] FleetSettings(string id, string site) => TestFleet.ApplianceFleetSettings(id, site);

    public ConcurrentQueue<RegisterRequest> Registrations { get; } = new();

    public ConcurrentQueue<HeartbeatRequest> Heartbeats { get; } = new();

    /// <summary>Answer the next heartbeat with <c>known = false</c> (as after a steering restart).</summary>
    public bool ForgetNext { get; set; }

    /// <summary>Ask for the full inventory in the next heartbeat reply.</summary>
    public bool WantFullNext { get; set; }

    /// <summary>The playback MAC key sent in every reply (as steering sends the caller its own); null sends none.</summary>
    public PlaybackMacKey? PlaybackKey { get; set; }

    /// <summary>The takedown list sent at Register, and in heartbeats whose generation differs from it (as steering does). Default none.</summary>
    public TakedownList? Takedowns { get; set; }

    private Google.Protobuf.ByteString PlaybackKeyBytes => PlaybackKey is { } key ? Google.Protobuf.ByteString.CopyFrom(key.Bytes) : Google.Protobuf.ByteString.Empty;

    public static async Task<RecordingControlPlane> StartAsync(int port = 0)
    {
        var server = new RecordingControlPlane(port == 0 ? FreePort() : port);
        await server._app.StartAsync();
        return server;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The inventory as steering holds it now.</summary>
    public HashSet<string> Inventory
    {
        get
        {
            lock (_lock)
            {
                return [.. _inventory];
            }
        }
    }

    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context)
    {
        if (context.GetHttpContext().Connection.ClientCertificate is { } certificate && FleetIdentity.FromCertificate(certificate) is { } caller)
        {
            Callers.Enqueue(caller);
        }

        lock (_lock)
        {
            _knownInstance = request.InstanceId;
            _inventory.Clear();
            _inventoryVersion = 0;
        }

        Registrations.Enqueue(request);
        return Task.FromResult(new RegisterReply { HeartbeatIntervalMs = 100, PlaybackKey = PlaybackKeyBytes, Takedowns = Takedowns });
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        Heartbeats.Enqueue(request);
        lock (_lock)
        {
            if (ForgetNext || request.InstanceId != _knownInstance)
            {
                ForgetNext = false;
                _knownInstance = null;
                return Task.FromResult(new HeartbeatReply { Known = false });
            }

            var wantFull = false;
            if (request.Inventory is { } update)
            {
                var entries = InventoryCodec.Decompress(update.ZstdEntries.Span);
                if (update.Full)
                {
                    _inventory.Clear();
                    _inventory.UnionWith(entries.Added);
                    _inventoryVersion = update.Version;
                }
                else if (update.BaseVersion == _inventoryVersion)
                {
                    _inventory.UnionWith(entries.Added);
                    _inventory.ExceptWith(entries.Removed);
                    _inventoryVersion = update.Version;
                }
                else
                {
                    wantFull = true;
                }
            }

            if (WantFullNext)
            {
                WantFullNext = false;
                wantFull = true;
            }

            var takedowns = Takedowns;
            return Task.FromResult(new HeartbeatReply
            {
                Known = true,
                WantFullInventory = wantFull,
                InventoryVersion = _inventoryVersion,
                PlaybackKey = PlaybackKeyBytes,
                Takedowns = takedowns is not null && takedowns.Generation != request.TakedownGeneration ? takedowns : null,
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
