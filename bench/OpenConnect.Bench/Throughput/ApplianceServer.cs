using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>How one appliance process of the bench is configured.</summary>
/// <param name="Ram">RAM tier large enough for every segment (else smaller than one, so segments live on the SSD tier only).</param>
/// <param name="Tls">Also serve the content over HTTPS with this certificate.</param>
/// <param name="AccessLogPath">Write the JSON access log here; null = off (the default).</param>
/// <param name="Epoll">Plaintext data listeners on the appliance's epoll transport (<c>Appliance:Serving:Transport=Epoll</c>) instead of Kestrel's sockets.</param>
internal sealed record ApplianceConfig(bool Ram, TlsSetup? Tls = null, string? AccessLogPath = null, bool Epoll = false);

/// <summary>
/// The appliance as a separate process from the Release build, pinned to core 0, with nginx as its
/// only parent and its own cache directory; warmed until every segment is on the tier under test.
/// </summary>
internal sealed class ApplianceServer : IAsyncDisposable
{
    /// <summary>Large enough for every segment (S3-FIFO keeps 90 % of it as the main queue).</summary>
    private const long RamTierBytes = 512L << 20;

    /// <summary>Smaller than one segment, so no segment is ever admitted to RAM.</summary>
    private const long SsdOnlyRamBytes = 1L << 20;

    /// <summary>Per-address connection cap in the bench: above the most connections it opens (10,000), all from 127.0.0.1.</summary>
    public const int MaxConnectionsPerClient = 20_000;

    private readonly HttpClient _client;
    private readonly HttpClient _management;
    private readonly string _cacheDirectory;

    private ApplianceServer(ChildProcess process, int port, int? tlsPort, int managementPort, string cacheDirectory)
    {
        Process = process;
        Port = port;
        TlsPort = tlsPort;
        _cacheDirectory = cacheDirectory;
        _client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        _management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public ChildProcess Process { get; }

    public int Port { get; }

    /// <summary>The HTTPS content port, when configured with a certificate.</summary>
    public int? TlsPort { get; }

    public static string DllPath(string repoRoot) =>
        Path.Combine(repoRoot, "appliance", "OpenConnect.Appliance", "bin", "Release", "net10.0", "OpenConnect.Appliance.dll");

    public static async Task<ApplianceServer> StartAsync(ToolPaths tools, string repoRoot, ApplianceConfig config, int parentPort, string cacheDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(cacheDirectory);

        // Data, HTTPS data, control and management ports, all distinct. The control endpoint (default 127.0.0.1:8480)
        // opens only with a fleet identity, which this appliance lacks; it gets its own free port anyway so the
        // appliance never collides with anything else on the machine. Health and metrics answer on the management listener.
        var ports = new List<int>();
        while (ports.Count < 4)
        {
            var candidate = NginxServer.FreePort();
            if (!ports.Contains(candidate))
            {
                ports.Add(candidate);
            }
        }

        var (port, tlsPort, controlPort, managementPort) = (ports[0], ports[1], ports[2], ports[3]);
        var ramBytes = config.Ram ? RamTierBytes : SsdOnlyRamBytes;
        var urls = config.Tls is null ? $"http://127.0.0.1:{port}" : $"http://127.0.0.1:{port};https://127.0.0.1:{tlsPort}";
        var args = new List<string>
        {
            "dotnet", DllPath(repoRoot),
            "--urls", urls,
            $"--Appliance:ControlUrl=https://127.0.0.1:{controlPort}",
            $"--Management:Url=http://127.0.0.1:{managementPort}",
            // The load generator fetches unsigned paths, as a peer would; token checks are not what this measures.
            "--Appliance:UnsignedNetworks:0=127.0.0.0/8",
            // The throughput parent serves bare files without integrity manifests.
            "--Appliance:Upstream:AllowUnsignedContent=true",
            $"--Appliance:Parents:0=http://127.0.0.1:{parentPort}",
            $"--Appliance:Cache:Directory={cacheDirectory}",
            $"--Appliance:Cache:RamBytes={ramBytes.ToString(CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning",
            // All load comes from 127.0.0.1: the per-address cap (default 1000) must allow 10,000 connections.
            $"--Appliance:Limits:MaxConnectionsPerClient={MaxConnectionsPerClient.ToString(CultureInfo.InvariantCulture)}",
            // The memory check holds connections open without a request for a few seconds (nginx waits as long).
            "--Appliance:Limits:FirstRequestTimeout=00:05:00",
        };
        if (config.Tls is { } tls)
        {
            args.Add($"--Kestrel:Certificates:Default:Path={tls.CertificatePath}");
            args.Add($"--Kestrel:Certificates:Default:KeyPath={tls.KeyPath}");
        }

        if (config.Epoll)
        {
            args.Add("--Appliance:Serving:Transport=Epoll");
        }

        if (config.AccessLogPath is { } log)
        {
            args.Add($"--Appliance:AccessLog:Path={log}");
            args.Add("--Appliance:AccessLog:Format=json");
        }

        var (file, pinned) = tools.OnCore(0, args[0], args.Skip(1));
        var process = ChildProcess.Start(file, pinned);
        var server = new ApplianceServer(process, port, config.Tls is null ? null : tlsPort, managementPort, cacheDirectory);
        try
        {
            await HttpProbe.WaitUntilAsync(process, $"http://127.0.0.1:{managementPort}/healthz", "appliance", cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Requests every path in passes until the tier holds all of them; returns the number of passes.
    /// The default S3-FIFO policy admits a new object to its small queue and keeps it (RAM) or writes
    /// it (SSD) once it is requested again, so more than one pass is expected. A repeat miss while an
    /// object is on probation promotes it straight to main and writes it to SSD, so with a RAM tier
    /// smaller than a segment the second pass puts every segment on the SSD tier: no filler segments
    /// are needed any more to push the last ones out of the small queue (measured: 64 of 64 after 2 passes).
    /// </summary>
    public async Task<int> WarmAsync(string label, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        const int MaxPasses = 6;
        for (var pass = 1; pass <= MaxPasses; pass++)
        {
            await GetAllAsync(paths, cancellationToken).ConfigureAwait(false);

            // SSD writes and RAM promotions finish in the background: poll for a while after each pass.
            for (var poll = 0; poll < 20; poll++)
            {
                var metrics = await ScrapeAsync(cancellationToken).ConfigureAwait(false);
                if (metrics.Value("openconnect_appliance_tier_objects", label) >= paths.Count)
                {
                    return pass;
                }

                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
        }

        var last = await ScrapeAsync(cancellationToken).ConfigureAwait(false);
        throw new InvalidOperationException(
            $"after {MaxPasses} warming passes the {label} tier holds {last.Value("openconnect_appliance_tier_objects", label)} of {paths.Count} segments; the tier case cannot be measured");
    }

    private async Task GetAllAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        foreach (var path in paths)
        {
            using var response = await _client.GetAsync(path.TrimStart('/'), cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode || body.Length != ThroughputSettings.FileBytes)
            {
                throw new InvalidOperationException($"warming {path}: appliance answered {(int)response.StatusCode} with {body.Length} bytes");
            }
        }
    }

    /// <summary>Reads every file of the cache directory once, so the SSD tier is served from the page cache like nginx's files.</summary>
    public Task ReadCacheFilesAsync(CancellationToken cancellationToken) => ReadFilesAsync(_cacheDirectory, cancellationToken);

    /// <summary>Reads every file under <paramref name="directory"/> once (into the page cache).</summary>
    public static async Task ReadFilesAsync(string directory, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            while (await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
    }

    public async Task<PrometheusText> ScrapeAsync(CancellationToken cancellationToken) =>
        new(await _management.GetStringAsync("metrics", cancellationToken).ConfigureAwait(false));

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        _management.Dispose();
        await Process.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Values of unlabelled and single-label series from a Prometheus text exposition.</summary>
internal sealed class PrometheusText(string text)
{
    /// <summary>The value of the unlabelled series <paramref name="name"/>, or 0 when absent.</summary>
    public double Value(string name) => Find(name + " ");

    /// <summary>The value of <c>name{tier="label"}</c> (the first label named tier), or 0 when absent.</summary>
    public double Value(string name, string tier) => Find($"{name}{{tier=\"{tier}\"}} ");

    private double Find(string prefix)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(prefix.Length).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
