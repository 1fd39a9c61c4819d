using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using OpenConnect.Launcher;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Testing.Fleet;

/// <summary>
/// The multi-host bed (<c>scripts/fleet-bed.sh</c>) with the real release binaries of every role
/// started in their namespaces by the fleet launcher (<see cref="LaunchedFleet"/> over
/// <see cref="FleetLaunch.Layout"/>): origin, steering, fill controller, appliances a1 a2 (site-a)
/// and b1 b2 (site-b); clients ca and cb. The control plane runs the secure path: steering makes the
/// fleet CA and the operator token; the operator (curl with the token, from steering's host) adds
/// each appliance and gets a one-time code; the appliance makes its own key, enrolls with the code
/// and heartbeats over mutual TLS. The test process stays in the root namespace and reaches the
/// bed through <c>ip netns exec</c> (curl, node). Disposing kills every role and removes the bed;
/// the script's watchdog removes it, and the roles' watchdogs stop them, if this process dies without disposing.
/// </summary>
public sealed class FleetBed : IAsyncDisposable
{
    public const string NotRootMessage = "the fleet bed needs root (network namespaces, veth, bridge): run the tests as root (CI does)";

    private static int _beds;
    private readonly Dictionary<string, FleetHost> _hosts;
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);
    private LaunchedFleet? _fleet;
    private int _grpcCalls;
    private bool _disposed;

    private FleetBed(string prefix, TempDirectory state, Dictionary<string, FleetHost> hosts, int steeringReplicas)
    {
        Prefix = prefix;
        State = state;
        _hosts = hosts;
        Layout = FleetLaunch.Layout(state.Path, hosts, steeringReplicas);
    }

    public static bool IsRoot => File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string RepositoryRoot => RepositoryPaths.Root;

    public static string Script => Path.Combine(RepositoryRoot, "scripts", "fleet-bed.sh");

    /// <summary>The bed's name: namespaces are <c>{Prefix}-{host}</c>.</summary>
    public string Prefix { get; }

    public TempDirectory State { get; }

    /// <summary>The fleet's layout on the bed: who runs where, on which ports, with which state.</summary>
    public FleetLayout Layout { get; }

    private LaunchedFleet Fleet => _fleet ?? throw new InvalidOperationException("the bed's fleet is not started");

    public LaunchedRole Origin => Fleet.Origin;

    public LaunchedRole Steering => Fleet.Steering;

    /// <summary>Steering instance <paramref name="name"/>: <c>steering</c> or a replica (<c>steering-2</c>).</summary>
    public LaunchedRole SteeringInstance(string name) => name == FleetLayout.Steering ? Fleet.Steering : Fleet.SteeringReplicas[name];

    /// <summary>Starts steering replica <paramref name="name"/> again (after a kill); returns once it answers <c>/healthz</c>.</summary>
    public Task<LaunchedRole> RestartSteeringReplicaAsync(string name) => Fleet.StartSteeringReplicaAsync(name);

    /// <summary>
    /// Steering instance <paramref name="name"/>'s roster (<c>GET /fleet/roster</c> with the operator
    /// token): per appliance, what it registered and its health, without the times and loads each
    /// instance samples at its own moment.
    /// </summary>
    public async Task<IReadOnlyList<string>> RosterAsync(string name)
    {
        var (status, body) = await Fleet.Enrollment.OperatorOnAsync(name, "GET", "/fleet/roster");
        if (status != 200)
        {
            throw new InvalidOperationException($"{name}: GET /fleet/roster answered {status}: {body}");
        }

        using var roster = JsonDocument.Parse(body);
        return [.. roster.RootElement.GetProperty("appliances").EnumerateArray().Select(a => string.Join(' ', ((string[])["id", "site", "health", "publicUrl", "parentUrl", "capacityBytesPerSecond", "maxConnections", "titles", "ssdBytes"]).Select(p => a.GetProperty(p).ToString()))).Order(StringComparer.Ordinal)];
    }

    public LaunchedRole FillController => Fleet.FillController!;

    /// <summary>Steering's playback public key (tokens), as written by steering at start.</summary>
    public string PlaybackKey => Fleet.PlaybackKey;

    /// <summary>The origin's integrity manifest public key, as written by the origin at start.</summary>
    public string IntegrityKey => Fleet.IntegrityKey;

    public IReadOnlyDictionary<string, LaunchedRole> Appliances => Fleet.Appliances;

    /// <summary>Steering's fleet directory: the CA (<c>ca.crt</c>, <c>ca.key</c>) and <c>operator.token</c>.</summary>
    public string FleetDirectory => Layout.FleetDirectory;

    /// <summary>The fleet CA's certificate, which every appliance (and every test client) trusts.</summary>
    public string CaCertificateFile => Layout.CaCertificateFile;

    /// <summary>Appliance <paramref name="id"/>'s fleet directory: its own key and certificate, and its enrollment code.</summary>
    public string ApplianceFleetDirectory(string id) => Layout.FleetCertificateDirectory(id);

    /// <summary>Appliances an operator removed (revoked) and not yet enrolled again.</summary>
    public IReadOnlySet<string> Removed => _removed;

    public FleetHost Host(string name) => _hosts.TryGetValue(name, out var host) ? host : throw new ArgumentException($"no host '{name}' in the bed ({string.Join(", ", _hosts.Keys)})", nameof(name));

    public string SteeringUrl => Steering.BaseUrl;

    /// <summary>Steering's player listener on its IPv6 address.</summary>
    public string SteeringUrlIPv6 => Host("steering").UrlIPv6(FleetLaunch.SteeringPort);

    /// <summary>The origin's published files (<c>{title}/{path}</c>), the bytes every copy must equal.</summary>
    public string PublishedDirectory => Path.Combine(Layout.DataDirectory(FleetLayout.Origin), "published");

    /// <summary>Builds the bed, starts every role and enrolls the appliances; returns once each answers <c>/healthz</c> and steering lists the four appliances.</summary>
    public static async Task<FleetBed> StartAsync(int steeringReplicas = 1)
    {
        if (!IsRoot)
        {
            throw new InvalidOperationException(NotRootMessage);
        }

        var prefix = string.Create(CultureInfo.InvariantCulture, $"ocb{Environment.ProcessId % 1_000_000}x{Interlocked.Increment(ref _beds)}");
        var up = await ExternalProcess.RunAsync(Script, ["up", prefix, "--owner", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
        if (up.ExitCode != 0)
        {
            throw new InvalidOperationException($"fleet-bed.sh up {prefix} failed ({up.ExitCode}): {up.StandardError}");
        }

        var hosts = new Dictionary<string, FleetHost>(StringComparer.Ordinal);
        foreach (var line in up.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ');
            hosts[f[0]] = new FleetHost(f[0], f[1], f[2], f[3]);
        }

        var bed = new FleetBed(prefix, new TempDirectory("openconnect-fleet"), hosts, steeringReplicas);
        try
        {
            await File.WriteAllTextAsync(bed.Layout.AdminPasswordFile, "fleet bed admin password\n");
            bed._fleet = await LaunchedFleet.StartAsync(bed.Layout, new FleetLaunchOptions
            {
                RepositoryRoot = RepositoryRoot,
                OperatorIdentity = "openconnect://operator/bed",
                ExtraSettings = role => FleetLaunch.ExtraSettings(bed.Layout, role),
            });
            foreach (var replica in bed.Layout.SteeringReplicas)
            {
                await bed.WaitForEligibleAppliancesAsync(bed.Appliances.Count, replica);
            }

            return bed;
        }
        catch
        {
            await bed.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until steering counts <paramref name="count"/> eligible appliances (registered, heartbeating, not draining).</summary>
    public async Task WaitForEligibleAppliancesAsync(int count, string steering = FleetLayout.Steering)
    {
        try
        {
            await WaitUntilAsync($"{steering} counts {count} eligible appliances", TimeSpan.FromSeconds(60), async () => await EligibleAppliancesAsync(steering) == count ? "yes" : null);
        }
        catch (TimeoutException ex)
        {
            var metrics = await CurlAsync(steering, SteeringInstance(steering).ManagementUrl + "/metrics");
            var states = string.Join("; ", metrics.Body.Split('\n').Where(l => l.StartsWith("openconnect_steering_appliances{", StringComparison.Ordinal)));
            var logs = string.Join("\n", ((LaunchedRole[])[Steering, .. Appliances.Values]).Select(r => $"-- {r.Name}:\n{r.Tail(15)}"));
            throw new TimeoutException($"{ex.Message} (steering: {states})\n{logs}", ex);
        }
    }

    /// <summary>Steering's <c>openconnect_steering_appliances{state="eligible"}</c>.</summary>
    public async Task<int> EligibleAppliancesAsync(string steering = FleetLayout.Steering)
    {
        var (status, body) = await CurlAsync(steering, SteeringInstance(steering).ManagementUrl + "/metrics");
        if (status == 200 && PrometheusText.Parse(body).Value("openconnect_steering_appliances", ("state", "eligible")) is { } eligible)
        {
            return (int)eligible;
        }

        // Steering's metrics object (and with it this gauge) is built on the first player request;
        // a steering-manifest request for a title that does not exist builds it.
        await CurlAsync(steering, SteeringInstance(steering).BaseUrl + "/steering/hls/fleet-bed-probe");
        return -1;
    }

    /// <summary>
    /// Starts (or restarts, keeping its cache and certificate) appliance <paramref name="id"/>; does
    /// not wait for health. Without a certificate yet, the operator adds it first and it enrolls
    /// with the one-time code on start.
    /// </summary>
    public Task<LaunchedRole> StartApplianceAsync(string id) => Fleet.StartApplianceAsync(id);

    /// <summary>
    /// An operator call on steering's enrollment listener (<c>/fleet/…</c>), made with curl from
    /// steering's host with the operator token and the fleet CA.
    /// </summary>
    public Task<(int Status, string Body)> OperatorAsync(string method, string path, object? json = null) => Fleet.Enrollment.OperatorAsync(method, path, json);

    /// <summary>The same on steering instance <paramref name="steering"/> (<c>steering</c> or a replica, <c>steering-2</c>), from its own host.</summary>
    public Task<(int Status, string Body)> OperatorOnAsync(string steering, string method, string path, object? json = null) => Fleet.Enrollment.OperatorOnAsync(steering, method, path, json);

    /// <summary>
    /// An operator call on the fill controller (<c>/fill/sites/…</c>): curl from the fill controller's
    /// host to its control listener with the bed's operator certificate. The fill controller's
    /// certificate names <c>openconnect://fill-controller</c> and no host, so curl checks it by its
    /// public key. Every fill operator call of the bed goes through here.
    /// </summary>
    public async Task<(int Status, string Body)> FillOperatorAsync(string method, string path) =>
        await CurlAsync("fill", FleetLaunch.FillControlUrl(this) + path, method,
            ["--http2", "--insecure", "--pinnedpubkey", Fleet.FillPin, "--cert", Fleet.OperatorCertificateFile, "--key", Fleet.OperatorKeyFile]);

    /// <summary>The operator adds appliance <paramref name="id"/> of <paramref name="site"/> (<c>POST /fleet/appliances</c>); its one-time enrollment code.</summary>
    public Task<string> AddApplianceAsync(string id, string site) => Fleet.Enrollment.AddApplianceAsync(id, site);

    /// <summary>The operator removes appliance <paramref name="id"/> (<c>DELETE /fleet/appliances/{id}</c>): its certificates are revoked and steering drops it.</summary>
    public async Task RemoveApplianceAsync(string id)
    {
        await Fleet.Enrollment.RemoveApplianceAsync(id);
        _removed.Add(id);
    }

    /// <summary>After a removal: stops the appliance, deletes its revoked key and certificate, and enrolls it again with a new code (as an operator re-adding a box does); waits for health.</summary>
    public async Task ReenrollApplianceAsync(string id)
    {
        await Fleet.RemoveApplianceProcessAsync(id);
        Directory.Delete(ApplianceFleetDirectory(id), recursive: true);
        _removed.Remove(id);
        await WaitHealthyAsync(await StartApplianceAsync(id));
    }

    /// <summary>
    /// One unary gRPC call from <paramref name="host"/> (<c>fleet-grpc.js</c> beside this file,
    /// Node's http2 and tls), as any host on the network could make it: TLS trusting the fleet CA,
    /// with the client certificate and key files given, or none.
    /// </summary>
    public async Task<GrpcOutcome> GrpcAsync(string host, string url, string method, IMessage request, string? certificateFile = null, string? keyFile = null)
    {
        var message = request.ToByteArray();
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1, 4), (uint)message.Length);
        message.CopyTo(framed, 5);
        var bodyFile = State.Combine(string.Create(CultureInfo.InvariantCulture, $"grpc-{Interlocked.Increment(ref _grpcCalls)}.bin"));
        await File.WriteAllBytesAsync(bodyFile, framed);

        var script = Path.Combine(RepositoryRoot, "tests", "OpenConnect.Testing", "Fleet", "fleet-grpc.js");
        List<string> command = ["node", script, "--url", url, "--path", method, "--body", bodyFile, "--ca", CaCertificateFile];
        if (certificateFile is not null)
        {
            command.AddRange(["--cert", certificateFile, "--key", keyFile ?? throw new ArgumentNullException(nameof(keyFile))]);
        }

        var result = await ExecAsync(host, command, TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0 || result.StandardOutput.Trim().Length == 0)
        {
            throw new InvalidOperationException($"fleet-grpc.js from {host} failed ({result.ExitCode}): {result.StandardError}");
        }

        using var json = JsonDocument.Parse(result.StandardOutput.Trim().Split('\n')[^1]);
        var root = json.RootElement;
        var body = Convert.FromBase64String(root.GetProperty("body").GetString() ?? "");
        return new GrpcOutcome(
            root.GetProperty("answered").GetBoolean(),
            root.GetProperty("status").ValueKind == JsonValueKind.Number ? root.GetProperty("status").GetInt32() : 0,
            root.GetProperty("grpcStatus").ValueKind == JsonValueKind.Number ? root.GetProperty("grpcStatus").GetInt32() : null,
            root.GetProperty("grpcMessage").GetString(),
            body.Length >= 5 ? body[5..] : [],
            root.GetProperty("error").GetString());
    }

    /// <summary>Restarts a stopped or killed appliance and waits until it answers <c>/healthz</c>.</summary>
    public async Task RestartApplianceAsync(string id)
    {
        await Fleet.RemoveApplianceProcessAsync(id);
        await WaitHealthyAsync(await StartApplianceAsync(id));
    }

    public Task KillApplianceAsync(string id) => Appliances[id].KillAsync();

    public Task StopApplianceAsync(string id) => Appliances[id].StopAsync();

    /// <summary>Cuts <paramref name="host"/> off from steering: blackhole routes to steering's addresses in the host's namespace (connects fail at once; everything else still flows).</summary>
    public Task PartitionFromSteeringAsync(string host) => BedScriptAsync("partition", host);

    public Task HealAsync(string host) => BedScriptAsync("heal", host);

    private async Task BedScriptAsync(string command, string host)
    {
        var result = await ExternalProcess.RunAsync(Script, [command, Prefix, host], TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"fleet-bed.sh {command} {Prefix} {host} failed: {result.StandardError}");
        }
    }

    /// <summary>Runs a command inside <paramref name="host"/>'s namespace.</summary>
    public Task<ExternalProcess.Result> ExecAsync(string host, IEnumerable<string> command, TimeSpan timeout)
    {
        var full = Host(host).Command(command);
        return ExternalProcess.RunAsync(full[0], full.Skip(1), timeout, RepositoryRoot);
    }

    /// <summary>An HTTP GET (or another method) from inside <paramref name="host"/>: status 0 when no connection could be made.</summary>
    public async Task<(int Status, string Body)> CurlAsync(string host, string url, string method = "GET", IEnumerable<string>? options = null)
    {
        var result = await ExecAsync(host, ["curl", "-sS", "-X", method, "--max-time", "10", .. options ?? [], "-o", "-", "-w", "\n%{http_code}", url], TimeSpan.FromSeconds(20));
        // curl's body, a newline, then the status code (and the capture's own final newline).
        var text = result.StandardOutput.TrimEnd('\n');
        var cut = text.LastIndexOf('\n');
        var status = int.TryParse(text[(cut + 1)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 0;
        return (status, cut < 0 ? "" : text[..cut]);
    }

    /// <summary><c>/play/{title}</c> from <paramref name="client"/>: the decision steering makes for that client's address.</summary>
    public async Task<JsonElement> PlayAsync(string client, string title)
    {
        var (status, body) = await CurlAsync(client, $"{SteeringUrl}/play/{title}");
        if (status != 200)
        {
            throw new InvalidOperationException($"/play/{title} from {client} answered {status}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The appliance ids of the HLS pathways of a <c>/play</c> answer, in order; the origin's pathway as <c>origin</c>.</summary>
    public static List<string> PathwayIds(JsonElement play) =>
        [.. play.GetProperty("hls").GetProperty("pathways").EnumerateArray().Select(p => p.GetProperty("applianceId").GetString() is { Length: > 0 } id ? id : "origin")];

    /// <summary>
    /// Ingests <paramref name="source"/> through the origin's real TUS endpoint and pipeline (as
    /// run.sh does, with <c>web/scripts/ingest.mjs</c>, from client <paramref name="client"/>) and returns the published title id.
    /// </summary>
    public async Task<string> PublishAsync(string source, string client = "ca")
    {
        var script = Path.Combine(RepositoryRoot, "web", "scripts", "ingest.mjs");
        if (!Directory.Exists(Path.Combine(RepositoryRoot, "web", "node_modules", "tus-js-client")))
        {
            throw new InvalidOperationException("web/node_modules is missing: run (cd web && npm ci) (./test.sh does)");
        }

        var password = State.Combine("uploader.password");
        await File.WriteAllTextAsync(password, "fleet bed uploader password\n");
        var result = await ExecAsync(client, ["node", script, "--origin", Origin.BaseUrl, "--file", source, "--user", "bed-uploader", "--password-file", password, "--admin-password-file", State.Combine("admin.password"), "--timeout-seconds", "400"], TimeSpan.FromMinutes(7));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ingest failed ({result.ExitCode}): {result.StandardError}\norigin log:\n{Origin.Tail()}");
        }

        using var json = JsonDocument.Parse(result.StandardOutput.Trim().Split('\n')[^1]);
        return json.RootElement.GetProperty("titleId").GetString()!;
    }

    /// <summary>Waits until <paramref name="role"/> answers <c>/healthz</c> (90 s); fails with its last log lines.</summary>
    public Task WaitHealthyAsync(LaunchedRole role) => Readiness.WaitHealthyAsync(role, TimeSpan.FromSeconds(90));

    /// <summary>Polls <paramref name="check"/> every 200 ms until it returns a value; throws naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task<T> WaitUntilAsync<T>(string what, TimeSpan timeout, Func<Task<T?>> check)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await check() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting until {what}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_fleet is not null)
            {
                await _fleet.DisposeAsync();
            }
        }
        finally
        {
            await DownAsync();
        }
    }

    private async Task DownAsync()
    {
        var down = await ExternalProcess.RunAsync(Script, ["down", Prefix], TimeSpan.FromSeconds(60));
        State.Dispose();
        if (down.ExitCode != 0)
        {
            throw new InvalidOperationException($"fleet-bed.sh down {Prefix} failed: {down.StandardError}");
        }
    }
}

/// <summary>
/// What a gRPC call got: <see cref="Answered"/> is false when no HTTP response came (TLS handshake
/// refused, connection reset), with <see cref="Error"/> saying why; otherwise the HTTP status, the
/// gRPC status and message, and the reply message (without its 5-byte frame header).
/// </summary>
public sealed record GrpcOutcome(bool Answered, int HttpStatus, int? GrpcStatus, string? GrpcMessage, byte[] Reply, string? Error)
{
    public override string ToString() => $"answered={Answered} http={HttpStatus} grpc-status={GrpcStatus?.ToString(CultureInfo.InvariantCulture) ?? "none"} message={GrpcMessage} error={Error}";
}
