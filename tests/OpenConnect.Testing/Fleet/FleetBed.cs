using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;

namespace OpenConnect.Testing.Fleet;

/// <summary>
/// The multi-host bed (<c>scripts/fleet-bed.sh</c>) with the real release binaries of every role
/// started in their namespaces: origin, steering, fill controller, appliances a1 a2 (site-a) and
/// b1 b2 (site-b); clients ca and cb. The control plane runs the secure path: steering makes the
/// fleet CA and the operator token; the operator (curl with the token, from steering's host) adds
/// each appliance and gets a one-time code; the appliance makes its own key, enrolls with the code
/// and heartbeats over mutual TLS. The test process stays in the root namespace and reaches the
/// bed through <c>ip netns exec</c> (curl, node). Disposing kills every role and removes the bed;
/// the script's watchdog removes it too if this process dies without disposing.
/// </summary>
public sealed class FleetBed : IAsyncDisposable
{
    public const string NotRootMessage = "the fleet bed needs root (network namespaces, veth, bridge): run the tests as root (CI does)";

    private static int _beds;
    private readonly Dictionary<string, FleetHost> _hosts;
    private readonly Dictionary<string, BedRole> _appliances = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);
    private int _grpcCalls;
    private string _fillPin = "";
    private bool _disposed;

    private FleetBed(string prefix, TempDirectory state, Dictionary<string, FleetHost> hosts)
    {
        Prefix = prefix;
        State = state;
        _hosts = hosts;
    }

    public static bool IsRoot => File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OpenConnect.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("repository root (OpenConnect.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Script => Path.Combine(RepositoryRoot, "scripts", "fleet-bed.sh");

    /// <summary>The bed's name: namespaces are <c>{Prefix}-{host}</c>.</summary>
    public string Prefix { get; }

    public TempDirectory State { get; }

    public BedRole Origin { get; private set; } = null!;

    public BedRole Steering { get; private set; } = null!;

    public BedRole FillController { get; private set; } = null!;

    /// <summary>Steering's playback public key (tokens), as written by steering at start.</summary>
    public string PlaybackKey { get; private set; } = "";

    /// <summary>The origin's integrity manifest public key, as written by the origin at start.</summary>
    public string IntegrityKey { get; private set; } = "";

    public IReadOnlyDictionary<string, BedRole> Appliances => _appliances;

    /// <summary>Steering's fleet directory: the CA (<c>ca.crt</c>, <c>ca.key</c>) and <c>operator.token</c>.</summary>
    public string FleetDirectory => Path.Combine(State.Combine("steering"), "fleet");

    /// <summary>The fleet CA's certificate, which every appliance (and every test client) trusts.</summary>
    public string CaCertificateFile => Path.Combine(FleetDirectory, "ca.crt");

    /// <summary>Appliance <paramref name="id"/>'s fleet directory: its own key and certificate, and its enrollment code.</summary>
    public string ApplianceFleetDirectory(string id) => State.Combine(id + "-fleet");

    /// <summary>Appliances an operator removed (revoked) and not yet enrolled again.</summary>
    public IReadOnlySet<string> Removed => _removed;

    public FleetHost Host(string name) => _hosts.TryGetValue(name, out var host) ? host : throw new ArgumentException($"no host '{name}' in the bed ({string.Join(", ", _hosts.Keys)})", nameof(name));

    public string SteeringUrl => Steering.BaseUrl;

    /// <summary>Steering's player listener on its IPv6 address.</summary>
    public string SteeringUrlIPv6 => Host("steering").UrlIPv6(FleetLaunch.SteeringPort);

    /// <summary>The origin's published files (<c>{title}/{path}</c>), the bytes every copy must equal.</summary>
    public string PublishedDirectory => Path.Combine(State.Combine("origin"), "published");

    /// <summary>Builds the bed, starts every role and enrolls the appliances; returns once each answers <c>/healthz</c> and steering lists the four appliances.</summary>
    public static async Task<FleetBed> StartAsync()
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

        var bed = new FleetBed(prefix, new TempDirectory("openconnect-fleet"), hosts);
        try
        {
            await bed.StartRolesAsync();
            return bed;
        }
        catch
        {
            await bed.DisposeAsync();
            throw;
        }
    }

    private static string Dll(string project) => Path.Combine(RepositoryRoot, project, "bin", "Release", "net10.0", Path.GetFileName(project) + ".dll");

    private async Task StartRolesAsync()
    {
        var steeringData = State.Combine("steering");
        var prefixDirectory = Path.Combine(steeringData, "prefixes");
        Directory.CreateDirectory(prefixDirectory);
        foreach (var (site, (_, _, prefixes)) in FleetLaunch.Sites)
        {
            await File.WriteAllTextAsync(Path.Combine(prefixDirectory, site + ".prefixes"), string.Join('\n', prefixes) + "\n");
        }

        Steering = StartRole("steering", "steering", "steering/OpenConnect.Steering", FleetLaunch.SteeringPort, FleetLaunch.Steering(this, steeringData));
        PlaybackKey = await ReadKeyAsync(Steering, Path.Combine(steeringData, "keys", "steering-signing.pub"));
        // Steering makes the fleet CA and the operator token on first start; operator calls need its enrollment listener up.
        await ReadKeyAsync(Steering, CaCertificateFile);
        var token = await ReadKeyAsync(Steering, Path.Combine(FleetDirectory, "operator.token"));
        await WriteSecretAsync(OperatorHeaderFile, $"Authorization: Bearer {token}\n");
        await WaitHealthyAsync(Steering);

        var adminPassword = State.Combine("admin.password");
        await File.WriteAllTextAsync(adminPassword, "fleet bed admin password\n");
        var originData = State.Combine("origin");
        await IssueServiceCertificateAsync(Path.Combine(originData, "fleet"), "origin", "openconnect://origin");
        Origin = StartRole("origin", "origin", "origin/OpenConnect.Origin", FleetLaunch.OriginPort, FleetLaunch.Origin(this, originData, PlaybackKey, Path.Combine(steeringData, "keys", "origin-playback-mac.key"), adminPassword));
        IntegrityKey = await ReadKeyAsync(Origin, Path.Combine(originData, "keys", "origin-signing.pub"));
        var fillData = State.Combine("fill-controller");
        await IssueServiceCertificateAsync(Path.Combine(fillData, "fleet"), "fill-controller", "openconnect://fill-controller");
        FillController = StartRole("fill-controller", "fill", "fill-controller/OpenConnect.FillController", FleetLaunch.FillPort, FleetLaunch.FillController(this, fillData));
        // The bed's operator certificate, for the fill controller's operator endpoints (its control listener).
        await IssueServiceCertificateAsync(OperatorDirectory, "operator", "openconnect://operator/bed");
        using (var fillCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(fillData, "fleet", "fill-controller.crt"))))
        {
            _fillPin = "sha256//" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(fillCertificate.PublicKey.ExportSubjectPublicKeyInfo()));
        }

        foreach (var id in FleetLaunch.Sites.Values.SelectMany(s => s.Appliances))
        {
            await StartApplianceAsync(id);
        }

        foreach (var role in (BedRole[])[Steering, Origin, FillController, .. _appliances.Values])
        {
            await WaitHealthyAsync(role);
        }

        await WaitForEligibleAppliancesAsync(_appliances.Count);
    }

    /// <summary>Waits until steering counts <paramref name="count"/> eligible appliances (registered, heartbeating, not draining).</summary>
    public async Task WaitForEligibleAppliancesAsync(int count)
    {
        try
        {
            await WaitUntilAsync($"steering counts {count} eligible appliances", TimeSpan.FromSeconds(60), async () => await EligibleAppliancesAsync() == count ? "yes" : null);
        }
        catch (TimeoutException ex)
        {
            var metrics = await CurlAsync("steering", Steering.ManagementUrl + "/metrics");
            var states = string.Join("; ", metrics.Body.Split('\n').Where(l => l.StartsWith("openconnect_steering_appliances{", StringComparison.Ordinal)));
            var logs = string.Join("\n", ((BedRole[])[Steering, .. _appliances.Values]).Select(r => $"-- {r.Name}:\n{r.Tail(15)}"));
            throw new TimeoutException($"{ex.Message} (steering: {states})\n{logs}", ex);
        }
    }

    /// <summary>Steering's <c>openconnect_steering_appliances{state="eligible"}</c>.</summary>
    public async Task<int> EligibleAppliancesAsync()
    {
        var (status, body) = await CurlAsync("steering", Steering.ManagementUrl + "/metrics");
        if (status == 200 && PrometheusText.Parse(body).Value("openconnect_steering_appliances", ("state", "eligible")) is { } eligible)
        {
            return (int)eligible;
        }

        // Steering's metrics object (and with it this gauge) is built on the first player request;
        // a steering-manifest request for a title that does not exist builds it.
        await CurlAsync("steering", SteeringUrl + "/steering/hls/fleet-bed-probe");
        return -1;
    }

    private BedRole StartRole(string name, string host, string project, int port, string[] settings) =>
        BedRole.Start(name, Host(host), Dll(project), Host(host).Url(port), FleetLaunch.ManagementUrl, State.Combine("logs", name + ".log"), [.. settings, "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:OpenConnect=Information"]);

    /// <summary>
    /// Starts (or restarts, keeping its cache and certificate) appliance <paramref name="id"/>; does
    /// not wait for health. Without a certificate yet, the operator adds it first and it enrolls
    /// with the one-time code on start.
    /// </summary>
    public async Task<BedRole> StartApplianceAsync(string id)
    {
        if (_appliances.TryGetValue(id, out var old) && old.Running)
        {
            throw new InvalidOperationException($"appliance {id} is running");
        }

        var fleetDirectory = ApplianceFleetDirectory(id);
        var codeFile = Path.Combine(fleetDirectory, "enrollment.code");
        if (!File.Exists(Path.Combine(fleetDirectory, "appliance.crt")))
        {
            var code = await AddApplianceAsync(id, FleetLaunch.SiteOf(id));
            Directory.CreateDirectory(fleetDirectory);
            await WriteSecretAsync(codeFile, code + "\n");
        }

        var role = StartRole(id, id, "appliance/OpenConnect.Appliance", FleetLaunch.AppliancePort, FleetLaunch.Appliance(this, id, State.Combine(id), fleetDirectory, CaCertificateFile, codeFile, PlaybackKey, IntegrityKey));
        _appliances[id] = role;
        return role;
    }

    private string OperatorHeaderFile => State.Combine("operator.header");

    /// <summary>
    /// An operator call on steering's enrollment listener (<c>/fleet/…</c>), made with curl from
    /// steering's host with the operator token and the fleet CA.
    /// </summary>
    public async Task<(int Status, string Body)> OperatorAsync(string method, string path, object? json = null)
    {
        List<string> options = ["--cacert", CaCertificateFile, "-H", "@" + OperatorHeaderFile];
        if (json is not null)
        {
            options.AddRange(["-H", "Content-Type: application/json", "--data-binary", JsonSerializer.Serialize(json)]);
        }

        return await CurlAsync("steering", FleetLaunch.SteeringEnrollUrl(this) + path, method, options);
    }

    private string OperatorDirectory => State.Combine("operator");

    /// <summary>
    /// An operator call on the fill controller (<c>/fill/sites/…</c>): curl from the fill controller's
    /// host to its control listener with the bed's operator certificate. The fill controller's
    /// certificate names <c>openconnect://fill-controller</c> and no host, so curl checks it by its
    /// public key. Every fill operator call of the bed goes through here.
    /// </summary>
    public async Task<(int Status, string Body)> FillOperatorAsync(string method, string path) =>
        await CurlAsync("fill", FleetLaunch.FillControlUrl(this) + path, method,
            ["--http2", "--insecure", "--pinnedpubkey", _fillPin, "--cert", Path.Combine(OperatorDirectory, "operator.crt"), "--key", Path.Combine(OperatorDirectory, "operator.key")]);

    /// <summary>
    /// A service's certificate (the fill controller's, the origin's), the way an operator gets it: a key
    /// made for it, a request sent with <c>POST /fleet/certificates</c>, and the answer written beside the
    /// key and the fleet CA in <paramref name="directory"/> as <c>{name}.crt</c> and <c>{name}.key</c>.
    /// </summary>
    private async Task IssueServiceCertificateAsync(string directory, string name, string identity)
    {
        Directory.CreateDirectory(directory);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=openconnect-" + name, key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var csr = request.CreateSigningRequestPem();
        var (status, body) = await OperatorAsync("POST", "/fleet/certificates", new { identity, csr });
        if (status != 200)
        {
            throw new InvalidOperationException($"issuing the {name} certificate answered {status}: {body}\nsteering log:\n{Steering.Tail(15)}");
        }

        using var answer = JsonDocument.Parse(body);
        var certificate = answer.RootElement.GetProperty("certificate").GetString() ?? throw new InvalidOperationException($"no certificate in {body}");
        await WriteSecretAsync(Path.Combine(directory, name + ".key"), key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(directory, name + ".crt"), certificate);
        File.Copy(CaCertificateFile, Path.Combine(directory, "ca.crt"), overwrite: true);
    }

    /// <summary>The operator adds appliance <paramref name="id"/> of <paramref name="site"/> (<c>POST /fleet/appliances</c>); its one-time enrollment code.</summary>
    public async Task<string> AddApplianceAsync(string id, string site)
    {
        var (status, body) = await OperatorAsync("POST", "/fleet/appliances", new { id, site });
        if (status != 200)
        {
            throw new InvalidOperationException($"adding appliance {id} ({site}) to the fleet answered {status}: {body}\nsteering log:\n{Steering.Tail(15)}");
        }

        using var answer = JsonDocument.Parse(body);
        return answer.RootElement.GetProperty("code").GetString() is { Length: > 0 } code ? code : throw new InvalidOperationException($"no enrollment code in {body}");
    }

    /// <summary>The operator removes appliance <paramref name="id"/> (<c>DELETE /fleet/appliances/{id}</c>): its certificates are revoked and steering drops it.</summary>
    public async Task RemoveApplianceAsync(string id)
    {
        var (status, body) = await OperatorAsync("DELETE", "/fleet/appliances/" + id);
        if (status != 200)
        {
            throw new InvalidOperationException($"removing appliance {id} answered {status}: {body}");
        }

        _removed.Add(id);
    }

    /// <summary>After a removal: stops the appliance, deletes its revoked key and certificate, and enrolls it again with a new code (as an operator re-adding a box does); waits for health.</summary>
    public async Task ReenrollApplianceAsync(string id)
    {
        if (_appliances.Remove(id, out var old))
        {
            await old.DisposeAsync();
        }

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

    private static async Task WriteSecretAsync(string file, string text)
    {
        await File.WriteAllTextAsync(file, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>Restarts a stopped or killed appliance and waits until it answers <c>/healthz</c>.</summary>
    public async Task RestartApplianceAsync(string id)
    {
        if (_appliances.Remove(id, out var old))
        {
            await old.DisposeAsync();
        }

        await WaitHealthyAsync(await StartApplianceAsync(id));
    }

    public Task KillApplianceAsync(string id) => _appliances[id].KillAsync();

    public Task StopApplianceAsync(string id) => _appliances[id].StopAsync();

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
    public Task<ExternalProcess.Result> ExecAsync(string host, IEnumerable<string> command, TimeSpan timeout) =>
        ExternalProcess.RunAsync("ip", ["netns", "exec", Host(host).Namespace, .. command], timeout, RepositoryRoot);

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

    public async Task WaitHealthyAsync(BedRole role)
    {
        try
        {
            await WaitUntilHealthyAsync(role);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last lines of {role.Name}'s log:\n{role.Tail()}", ex);
        }
    }

    private async Task WaitUntilHealthyAsync(BedRole role)
    {
        await WaitUntilAsync($"{role.Name} answers /healthz", TimeSpan.FromSeconds(90), async () =>
        {
            if (!role.Running)
            {
                throw new InvalidOperationException($"{role.Name} exited during start:\n{role.Tail()}");
            }

            return (await CurlAsync(role.Host.Name, role.ManagementUrl + "/healthz")).Status == 200 ? "yes" : null;
        });
    }

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

    private static async Task<string> ReadKeyAsync(BedRole role, string file) =>
        await WaitUntilAsync($"{role.Name} writes {file}", TimeSpan.FromSeconds(90), async () =>
        {
            if (!role.Running)
            {
                throw new InvalidOperationException($"{role.Name} exited during start:\n{role.Tail()}");
            }

            return File.Exists(file) && (await File.ReadAllTextAsync(file)).Trim() is { Length: > 0 } key ? key : null;
        });

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            foreach (var role in (BedRole?[])[.. _appliances.Values, FillController, Origin, Steering])
            {
                if (role is not null)
                {
                    await role.DisposeAsync();
                }
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
