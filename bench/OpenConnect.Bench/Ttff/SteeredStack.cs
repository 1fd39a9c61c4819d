using System.Globalization;
using System.Text.Json;
using OpenConnect.Bench.Throughput;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Origin, steering and one or more appliances (one site) as Release processes pinned to core 0, wired as run.sh wires
/// them: steering's key (created here first) verifies players' tokens on the appliance and the
/// origin; loopback clients belong to the appliance's site.
/// </summary>
internal sealed class SteeredStack : IAsyncDisposable
{
    private readonly List<ChildProcess> _processes;
    private readonly Ed25519SigningKey _key;
    private readonly IReadOnlyList<string> _titles;
    private readonly List<string> _applianceUrls = [];

    private SteeredStack(List<ChildProcess> processes, Ed25519SigningKey key, IReadOnlyList<string> titles, string steeringUrl)
    {
        _processes = processes;
        _key = key;
        _titles = titles;
        SteeringUrl = steeringUrl;
    }

    public string SteeringUrl { get; }

    public string ApplianceUrl => _applianceUrls[0];

    /// <summary>Every appliance's data URL (all in site <c>local</c>), in start order.</summary>
    public IReadOnlyList<string> ApplianceUrls => _applianceUrls;

    /// <summary>The role processes by name (origin, steering, oca-bench-N), for CPU accounting.</summary>
    public IReadOnlyList<(string Name, ChildProcess Process)> Roles { get; private set; } = [];

    public static Task<SteeredStack> StartAsync(string root, string taskset, string work, string package, string title, CancellationToken cancellationToken) =>
        StartAsync(root, taskset, work, package, [title], 1, cancellationToken);

    /// <summary>
    /// Publishes <paramref name="package"/> under each of <paramref name="titles"/> and starts the
    /// origin, steering and <paramref name="appliances"/> appliances in one site. Returns once
    /// steering ranks an appliance first for every title.
    /// </summary>
    public static async Task<SteeredStack> StartAsync(string root, string taskset, string work, string package, IReadOnlyList<string> titles, int appliances, CancellationToken cancellationToken)
    {
        var key = Ed25519SigningKey.LoadOrCreate(Path.Combine(work, "steering", "keys", "steering-signing.key"));
        // The origin's signing key, made here so each copy of the package gets its own title's signed
        // integrity manifest; the origin loads it at start and writes the public half next to it.
        var originKeyFile = Path.Combine(work, "origin", "keys", "origin-signing.key");
        var originKey = Ed25519SigningKey.LoadOrCreate(originKeyFile);
        foreach (var title in titles)
        {
            var published = Path.Combine(work, "origin", "published", title);
            CopyDirectory(package, published);
            var manifest = await Origin.Publishing.TitlePublisher.BuildManifestAsync(title, published, originKey, cancellationToken).ConfigureAwait(false);
            await File.WriteAllBytesAsync(Path.Combine(published, Contracts.Content.IntegrityManifest.FileName), manifest.ToJsonBytes(), cancellationToken).ConfigureAwait(false);
        }

        Directory.CreateDirectory(Path.Combine(work, "steering", "prefixes"));
        await File.WriteAllTextAsync(Path.Combine(work, "steering", "prefixes", "local.prefixes"), "127.0.0.0/8\n::1/128\n", cancellationToken).ConfigureAwait(false);

        var originPort = NginxServer.FreePort();
        var steeringPort = NginxServer.FreePort();
        var controlPort = NginxServer.FreePort();
        var enrollPort = NginxServer.FreePort();
        var fleetDirectory = Path.Combine(work, "steering", "fleet");
        var originUrl = $"http://127.0.0.1:{originPort}";
        var steeringUrl = $"http://127.0.0.1:{steeringPort}";
        var processes = new List<ChildProcess>();
        var roles = new List<(string, ChildProcess)>();
        var stack = new SteeredStack(processes, key, titles, steeringUrl) { Roles = roles };
        try
        {
            var originManagement = FreeManagementUrl();
            processes.Add(Start(taskset, Dll(root, "origin", "OpenConnect.Origin"), originUrl, originManagement, $"--Origin:DataDirectory={Path.Combine(work, "origin")}", $"--Origin:PlaybackKeys:0={key.PublicKey}",
                $"--Origin:PlaybackMacKeyFile={PlaybackMacKey.WriteOriginKeyFile(key, Path.Combine(work, "steering", "keys", "origin-playback-mac.key"))}"));
            roles.Add(("origin", processes[^1]));
            await HttpProbe.WaitUntilAsync(processes[^1], originManagement + "/healthz", "origin", cancellationToken).ConfigureAwait(false);
            // Appliances trust the key the origin wrote at start, as run.sh wires it.
            var integrityKey = (await File.ReadAllTextAsync(Path.ChangeExtension(originKeyFile, ".pub"), cancellationToken).ConfigureAwait(false)).Trim();
            var steeringManagement = FreeManagementUrl();
            processes.Add(Start(taskset, Dll(root, "steering", "OpenConnect.Steering"), steeringUrl, steeringManagement, $"--Steering:DataDirectory={Path.Combine(work, "steering")}", $"--Steering:ControlUrl=https://127.0.0.1:{controlPort}", $"--Steering:Fleet:EnrollUrl=https://127.0.0.1:{enrollPort}", $"--Steering:OriginUrl={originUrl}",
                // Every player of the swarm starts from 127.0.0.1.
                "--Steering:PlayRateLimitPerSecond=1000000", "--Steering:PlayRateLimitBurst=1000000"));
            roles.Add(("steering", processes[^1]));
            await HttpProbe.WaitUntilAsync(processes[^1], steeringManagement + "/healthz", "steering", cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < appliances; i++)
            {
                var id = i == 0 ? "oca-bench" : $"oca-bench-{i}";
                var applianceUrl = $"http://127.0.0.1:{NginxServer.FreePort()}";
                var applianceManagement = FreeManagementUrl();
                // Enrolled the production way: the operator adds it, it enrolls with the one-time code.
                var code = await AddApplianceAsync(fleetDirectory, enrollPort, id, cancellationToken).ConfigureAwait(false);
                processes.Add(Start(
                    taskset,
                    Dll(root, "appliance", "OpenConnect.Appliance"),
                    applianceUrl,
                    applianceManagement,
                    $"--Appliance:Id={id}",
                    "--Appliance:Site=local",
                    $"--Appliance:ControlUrl=https://127.0.0.1:{NginxServer.FreePort()}",
                    $"--Appliance:Cache:Directory={Path.Combine(work, id)}",
                    $"--Appliance:Parents:0={originUrl}",
                    $"--Appliance:Steering:Url=https://127.0.0.1:{controlPort}",
                    $"--Appliance:Fleet:Directory={Path.Combine(work, id + "-fleet")}",
                    $"--Appliance:Fleet:CaCertificateFile={Path.Combine(fleetDirectory, "ca.crt")}",
                    $"--Appliance:Fleet:EnrollUrl=https://127.0.0.1:{enrollPort}",
                    $"--Appliance:Fleet:EnrollmentCode={code}",
                    $"--Appliance:PlaybackKeys:0={key.PublicKey}",
                    $"--Appliance:Upstream:IntegrityKeys:0={integrityKey}"));
                roles.Add((id, processes[^1]));
                await HttpProbe.WaitUntilAsync(processes[^1], applianceManagement + "/healthz", id, cancellationToken).ConfigureAwait(false);
                stack._applianceUrls.Add(applianceUrl);
            }

            await stack.WaitForAppliancesAsync(cancellationToken).ConfigureAwait(false);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Fetches every file of every title through every appliance (signed), twice, so plays are RAM hits.</summary>
    public async Task WarmAsync(string package, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var title in _titles)
        {
            var token = UrlToken.Sign(_key, DateTimeOffset.UtcNow.AddHours(1), UrlToken.TitlePrefix(title));
            foreach (var appliance in _applianceUrls)
            {
                for (var pass = 0; pass < 2; pass++)
                {
                    foreach (var file in Directory.EnumerateFiles(package, "*", SearchOption.AllDirectories))
                    {
                        var relative = Path.GetRelativePath(package, file).Replace(Path.DirectorySeparatorChar, '/');
                        using var response = await client.GetAsync($"{appliance}{UrlToken.SignedPath(token, $"/v/{title}/{relative}")}", cancellationToken).ConfigureAwait(false);
                        response.EnsureSuccessStatusCode();
                    }
                }
            }
        }
    }

    /// <summary>Waits until steering lists every appliance plus the origin for each title, an appliance first.</summary>
    private async Task WaitForAppliancesAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var title in _titles)
        {
            while (true)
            {
                using var play = JsonDocument.Parse(await client.GetStringAsync($"{SteeringUrl}/play/{title}", cancellationToken).ConfigureAwait(false));
                var pathways = play.RootElement.GetProperty("hls").GetProperty("pathways");
                var first = pathways[0].GetProperty("url").GetString()!;
                if (pathways.GetArrayLength() >= Math.Min(_applianceUrls.Count + 1, 3) && _applianceUrls.Any(a => first.StartsWith(a, StringComparison.Ordinal)))
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"steering never ranked the appliances first for {title}: {play.RootElement}");
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts a role with its management listener (<c>/healthz</c>) on <paramref name="managementUrl"/>.</summary>
    private static ChildProcess Start(string taskset, string dll, string url, string managementUrl, params string[] settings) =>
        ChildProcess.Start(taskset, ["-c", "0", "dotnet", dll, "--urls", url, $"--Management:Url={managementUrl}", "--Logging:LogLevel:Default=Warning", .. settings]);

    private static string FreeManagementUrl() => $"http://127.0.0.1:{NginxServer.FreePort()}";

    private static string Dll(string root, string folder, string project)
    {
        var path = Path.Combine(root, folder, project, "bin", "Release", "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new BenchUsageException($"{path} is missing; build first: dotnet build OpenConnect.sln -c Release");
    }

    private static void CopyDirectory(string source, string destination)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"steering {SteeringUrl}, appliances {string.Join(", ", _applianceUrls)}");

    /// <summary>Adds an appliance on steering's enrollment listener with the operator token; the one-time enrollment code.</summary>
    private static async Task<string> AddApplianceAsync(string fleetDirectory, int enrollPort, string id, CancellationToken cancellationToken)
    {
        using var authority = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(fleetDirectory, "ca.crt"), cancellationToken).ConfigureAwait(false));
        var trust = new OpenConnect.Contracts.Fleet.FleetTrust(authority);
        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = trust.ServerValidator(OpenConnect.Contracts.Fleet.FleetIdentity.Steering) } };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{enrollPort}") };
        var token = (await File.ReadAllTextAsync(Path.Combine(fleetDirectory, "operator.token"), cancellationToken).ConfigureAwait(false)).Trim();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await client.PostAsync("/fleet/appliances", new StringContent(JsonSerializer.Serialize(new { id, site = "local" }), System.Text.Encoding.UTF8, "application/json"), cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"adding appliance {id} to the fleet: HTTP {(int)response.StatusCode} {body}");
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("code").GetString()!;
    }
}
