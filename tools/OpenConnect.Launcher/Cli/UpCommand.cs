using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Launcher.Cli;

/// <summary>
/// <c>up</c>: starts and enrolls the loopback fleet run.sh runs, prints its URLs, writes what the
/// demo needs into <c>{state}/fleet.env</c>, and stays until a signal (stops every role, exit 0) or
/// until a role dies (exit 1 with its last log lines).
/// </summary>
public static class UpCommand
{
    public const string EnvironmentFileName = "fleet.env";

    public static async Task<int> RunAsync(UpArguments args, TextWriter output, TextWriter error)
    {
        var layout = FleetLayout.Loopback(
            args.StateDirectory,
            args.OriginPort,
            args.SteeringPort,
            args.FillPort,
            [.. args.AppliancePorts.Select((port, i) => ($"appliance-{i + 1}", port))],
            steeringReplicas: args.SteeringReplicas);
        var root = args.RepositoryRoot ?? FindRepositoryRoot();
        var options = new FleetLaunchOptions
        {
            RepositoryRoot = root,
            OperatorIdentity = "openconnect://operator/run-sh",
            ExtraSettings = role => role == FleetLayout.Origin && args.WebDirectory is { } web
                ? [
                    $"--Origin:Web:Directory={Path.GetFullPath(web)}",
                    $"--Origin:Web:SteeringUrl={layout.Url(FleetLayout.Steering)}",
                    .. layout.SteeringReplicas.Select((replica, i) => $"--Origin:Web:SteeringUrls:{i}={layout.Url(replica)}"),
                ]
                : [],
        };

        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        var environmentFile = layout.StatePath(EnvironmentFileName);
        Directory.CreateDirectory(layout.StateDirectory);
        File.Delete(environmentFile);

        LaunchedFleet fleet;
        try
        {
            fleet = await LaunchedFleet.StartAsync(layout, options, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LaunchException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await output.WriteLineAsync("stopped").ConfigureAwait(false);
            return 0;
        }

        await using (fleet.ConfigureAwait(false))
        {
            foreach (var role in fleet.Roles)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{role.Name,-16} {role.BaseUrl}   (health {role.ManagementUrl}/healthz, metrics {role.ManagementUrl}/metrics)")).ConfigureAwait(false);
            }

            var steering = layout.Url(FleetLayout.Steering);
            await output.WriteLineAsync($"state: {layout.StateDirectory}   logs: {layout.LogDirectory}/").ConfigureAwait(false);
            await output.WriteLineAsync($"play:  {steering}/play/<titleId>   (hls.js: {steering}/play/<titleId>/master.m3u8, dash.js: {steering}/play/<titleId>/manifest.mpd)").ConfigureAwait(false);
            await WriteEnvironmentAsync(environmentFile, fleet).ConfigureAwait(false);
            await output.WriteLineAsync($"fleet ready: {environmentFile}").ConfigureAwait(false);

            while (!stop.IsCancellationRequested)
            {
                if (args.OwnerPid is { } owner && !Directory.Exists(string.Create(CultureInfo.InvariantCulture, $"/proc/{owner}")))
                {
                    break;
                }

                if (fleet.FirstExited() is { } dead)
                {
                    await error.WriteLineAsync($"error: {dead.Name} stopped unexpectedly; last lines of {dead.LogFile}:\n{dead.Tail()}").ConfigureAwait(false);
                    await fleet.StopAsync().ConfigureAwait(false);
                    return 1;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await output.WriteLineAsync("stopping...").ConfigureAwait(false);
            await fleet.StopAsync().ConfigureAwait(false);
            await output.WriteLineAsync("stopped").ConfigureAwait(false);
            return 0;
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>What run.sh's demo step needs, as shell assignments (single-quoted), written whole or not at all.</summary>
    public static async Task WriteEnvironmentAsync(string file, LaunchedFleet fleet)
    {
        var layout = fleet.Layout;
        var values = new (string Name, string Value)[]
        {
            ("STATE_DIR", layout.StateDirectory),
            ("ORIGIN_URL", layout.Url(FleetLayout.Origin)),
            ("STEERING_URL", layout.Url(FleetLayout.Steering)),
            ("STEERING_URLS", string.Join(' ', layout.SteeringReplicas.Select(layout.Url))),
            ("FILL_CONTROL_URL", layout.HasFillController ? layout.ControlUrl(FleetLayout.FillController) : ""),
            ("FILL_PIN", fleet.FillPin),
            ("OPERATOR_CERT", fleet.OperatorCertificateFile),
            ("OPERATOR_KEY", fleet.OperatorKeyFile),
            ("ADMIN_PASSWORD_FILE", layout.AdminPasswordFile),
            ("FLEET_CA", layout.CaCertificateFile),
        };
        var text = new StringBuilder();
        foreach (var (name, value) in values)
        {
            text.Append(name).Append("='").Append(value.Replace("'", "'\\''", StringComparison.Ordinal)).Append("'\n");
        }

        await File.WriteAllTextAsync(file + ".tmp", text.ToString()).ConfigureAwait(false);
        File.Move(file + ".tmp", file, overwrite: true);
    }

    /// <summary>The repository this launcher was built in: the first directory above it holding OpenConnect.sln.</summary>
    public static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OpenConnect.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new UsageException("the repository (OpenConnect.sln) was not found above " + AppContext.BaseDirectory + "; pass --root");
    }
}
