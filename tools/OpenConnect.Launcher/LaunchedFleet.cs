using System.Security.Cryptography;
using OpenConnect.Launcher.Enrollment;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Launcher;

/// <summary>
/// A running fleet, started and enrolled the production way. Steering first: it owns the playback
/// signing key, makes the fleet CA and the operator token. The operator (this launcher) then has the
/// origin's, the fill controller's and its own certificates issued on steering's enrollment
/// listener; the origin starts with steering's public key and writes its integrity key, which the
/// appliances trust; each appliance is added with a one-time code, makes its own key and enrolls on
/// first start, and pulls from its parents over fleet TLS. Disposing kills every role.
/// </summary>
public sealed class LaunchedFleet : IAsyncDisposable
{
    private readonly FleetLaunchOptions _options;
    private readonly Dictionary<string, LaunchedRole> _appliances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LaunchedRole> _replicas = new(StringComparer.Ordinal);
    private bool _disposed;

    private LaunchedFleet(FleetLayout layout, FleetLaunchOptions options)
    {
        Layout = layout;
        _options = options;
    }

    public FleetLayout Layout { get; }

    public LaunchedRole Steering { get; private set; } = null!;

    /// <summary>Steering's replicas (<c>steering-2</c>, …) by name; empty with one steering instance.</summary>
    public IReadOnlyDictionary<string, LaunchedRole> SteeringReplicas => _replicas;

    public LaunchedRole Origin { get; private set; } = null!;

    /// <summary>The fill controller, when the layout has one.</summary>
    public LaunchedRole? FillController { get; private set; }

    public IReadOnlyDictionary<string, LaunchedRole> Appliances => _appliances;

    /// <summary>Every role started, in start order.</summary>
    public IEnumerable<LaunchedRole> Roles => ((LaunchedRole?[])[Steering, .. Layout.SteeringReplicas.Where(_replicas.ContainsKey).Select(r => _replicas[r]), Origin, FillController, .. Layout.Appliances.Where(_appliances.ContainsKey).Select(id => _appliances[id])]).OfType<LaunchedRole>();

    /// <summary>Steering's playback public key (players' tokens), as steering wrote it at start.</summary>
    public string PlaybackKey { get; private set; } = "";

    /// <summary>The origin's integrity manifest public key, as the origin wrote it at start.</summary>
    public string IntegrityKey { get; private set; } = "";

    /// <summary>curl's <c>--pinnedpubkey</c> for the fill controller's control listener (its certificate names no host).</summary>
    public string FillPin { get; private set; } = "";

    public EnrollmentClient Enrollment { get; private set; } = null!;

    /// <summary>The operator certificate and key (for the fill controller's <c>/fill/sites</c> endpoints).</summary>
    public string OperatorCertificateFile => Path.Combine(Layout.OperatorDirectory, "operator.crt");

    public string OperatorKeyFile => Path.Combine(Layout.OperatorDirectory, "operator.key");

    /// <summary>
    /// Starts and enrolls every role of <paramref name="layout"/>; returns once each answers
    /// <c>/healthz</c>. On failure every role
    /// started is killed and a <see cref="LaunchException"/> names the role with its last log lines.
    /// </summary>
    public static async Task<LaunchedFleet> StartAsync(FleetLayout layout, FleetLaunchOptions options, CancellationToken cancellationToken = default)
    {
        var fleet = new LaunchedFleet(layout, options);
        try
        {
            await fleet.StartRolesAsync(cancellationToken).ConfigureAwait(false);
            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartRolesAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Layout.LogDirectory);
        foreach (var site in Layout.Sites)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Layout.PrefixFile(site.Name))!);
            await File.WriteAllTextAsync(Layout.PrefixFile(site.Name), $"# the launcher: clients of site {site.Name}\n{string.Join('\n', site.Prefixes)}\n", cancellationToken).ConfigureAwait(false);
        }

        // The catalog's built-in admin (only an admin makes uploaders): its password is made once and kept.
        if (!File.Exists(Layout.AdminPasswordFile) || new FileInfo(Layout.AdminPasswordFile).Length == 0)
        {
            await SecretFile.WriteAsync(Layout.AdminPasswordFile, Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant() + "\n", cancellationToken).ConfigureAwait(false);
        }

        // Steering rewrites its public key at every start: wait for this start's.
        if (File.Exists(Layout.PlaybackKeyFile))
        {
            File.Delete(Layout.PlaybackKeyFile);
        }

        Steering = Start(FleetLayout.Steering, "steering/OpenConnect.Steering", RoleSettings.Steering(Layout));
        PlaybackKey = await Readiness.WaitForFileAsync(Steering, Layout.PlaybackKeyFile, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
        // The fleet CA and the operator token come on first start; certificates are issued on the enrollment listener.
        await Readiness.WaitForFileAsync(Steering, Layout.CaCertificateFile, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
        await Readiness.WaitForFileAsync(Steering, Layout.OperatorTokenFile, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
        await Readiness.WaitHealthyAsync(Steering, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
        Enrollment = new EnrollmentClient(Layout, Steering);
        // Replicas share the signing key, the fleet CA and the prefix tables steering just wrote; nothing else.
        foreach (var replica in Layout.SteeringReplicas.Skip(1))
        {
            await StartSteeringReplicaAsync(replica, cancellationToken).ConfigureAwait(false);
        }

        await Enrollment.IssueCertificateAsync(Layout.OperatorDirectory, "operator", _options.OperatorIdentity, server: false, cancellationToken).ConfigureAwait(false);
        // The origin serves parent pulls over TLS with its fleet certificate.
        await Enrollment.IssueCertificateAsync(Layout.FleetCertificateDirectory(FleetLayout.Origin), "origin", "openconnect://origin", server: true, cancellationToken).ConfigureAwait(false);
        Origin = Start(FleetLayout.Origin, "origin/OpenConnect.Origin", RoleSettings.Origin(Layout, PlaybackKey));
        // The origin signs every title's integrity manifest; appliances admit only what its key signed.
        IntegrityKey = await Readiness.WaitForFileAsync(Origin, Layout.IntegrityKeyFile, _options.StartTimeout, cancellationToken).ConfigureAwait(false);

        if (Layout.HasFillController)
        {
            var fleet = Layout.FleetCertificateDirectory(FleetLayout.FillController);
            await Enrollment.IssueCertificateAsync(fleet, "fill-controller", "openconnect://fill-controller", server: true, cancellationToken).ConfigureAwait(false);
            FillPin = EnrollmentClient.PublicKeyPin(Path.Combine(fleet, "fill-controller.key"));
            FillController = Start(FleetLayout.FillController, "fill-controller/OpenConnect.FillController", RoleSettings.FillController(Layout));
        }

        foreach (var id in Layout.Appliances)
        {
            await StartApplianceAsync(id, cancellationToken).ConfigureAwait(false);
        }

        foreach (var role in Roles)
        {
            await Readiness.WaitHealthyAsync(role, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts (or starts again, keeping its cache and certificate) appliance <paramref name="id"/>;
    /// does not wait for health. Without a certificate yet, the operator adds it first and it enrolls
    /// with the one-time code on start.
    /// </summary>
    public async Task<LaunchedRole> StartApplianceAsync(string id, CancellationToken cancellationToken = default)
    {
        if (_appliances.TryGetValue(id, out var old) && old.Running)
        {
            throw new InvalidOperationException($"appliance {id} is running");
        }

        await Enrollment.EnrollApplianceAsync(id, cancellationToken).ConfigureAwait(false);
        var role = Start(id, "appliance/OpenConnect.Appliance", RoleSettings.Appliance(Layout, id, PlaybackKey, IntegrityKey));
        _appliances[id] = role;
        if (old is not null)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }

        return role;
    }

    /// <summary>
    /// Starts (or starts again) steering replica <paramref name="name"/> (<c>steering-2</c>, …) and waits
    /// until it answers <c>/healthz</c>. It starts with an empty registry and rebuilds it from the
    /// appliances' heartbeats.
    /// </summary>
    public async Task<LaunchedRole> StartSteeringReplicaAsync(string name, CancellationToken cancellationToken = default)
    {
        if (name == FleetLayout.Steering || !Layout.IsSteering(name))
        {
            throw new ArgumentException($"'{name}' is not a steering replica of this fleet ({string.Join(", ", Layout.SteeringReplicas.Skip(1))})", nameof(name));
        }

        if (_replicas.TryGetValue(name, out var old) && old.Running)
        {
            throw new InvalidOperationException($"steering replica {name} is running");
        }

        var role = Start(name, "steering/OpenConnect.Steering", RoleSettings.Steering(Layout, name));
        _replicas[name] = role;
        if (old is not null)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }

        await Readiness.WaitHealthyAsync(role, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
        return role;
    }

    /// <summary>Forgets appliance <paramref name="id"/>'s process (killing it if it runs).</summary>
    public async Task RemoveApplianceProcessAsync(string id)
    {
        if (_appliances.Remove(id, out var role))
        {
            await role.DisposeAsync().ConfigureAwait(false);
        }
    }

    private LaunchedRole Start(string name, string project, IEnumerable<string> settings) =>
        LaunchedRole.Start(new RoleStart(
            name,
            Layout.Host(name),
            RoleStart.ReleaseDll(_options.RepositoryRoot, project),
            [.. settings, .. _options.ExtraSettings(name)],
            Layout.LogFile(name),
            Layout.Url(name),
            Layout.ManagementUrl(name))
        {
            Prefix = _options.Prefix,
            OwnerPid = _options.OwnerPid,
        });

    /// <summary>The first role found exited, or null while all run.</summary>
    public LaunchedRole? FirstExited() => Roles.FirstOrDefault(r => !r.Running);

    /// <summary>Stops every role with SIGTERM (appliances first, steering last), each SIGKILLed after <see cref="LaunchedRole.StopBound"/>.</summary>
    public async Task StopAsync()
    {
        foreach (var group in (IEnumerable<LaunchedRole?>[])[_appliances.Values, [FillController], [Origin], _replicas.Values, [Steering]])
        {
            await Task.WhenAll(group.OfType<LaunchedRole>().Select(r => r.StopAsync())).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var role in Roles.Reverse())
        {
            await role.DisposeAsync().ConfigureAwait(false);
        }
    }
}
