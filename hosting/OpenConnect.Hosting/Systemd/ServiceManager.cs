using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace OpenConnect.Hosting.Systemd;

/// <summary>
/// What a service manager (systemd) expects of a role, whether or not systemd started it:
/// <c>READY=1</c> on <c>NOTIFY_SOCKET</c> once the listeners are open (<c>Type=notify</c>),
/// <c>STOPPING=1</c> when a stop begins, and SIGHUP (<c>systemctl reload</c>) caught instead of
/// ending the process: it runs <see cref="ConfigurationReloader"/>, which sends <c>RELOADING=1</c>
/// (with <c>MONOTONIC_USEC</c>) and then <c>READY=1</c>. <c>UseSystemd()</c> is not used: it only turns on when the parent process is
/// systemd, and a supervisor or a test that sets <c>NOTIFY_SOCKET</c> must get the same readiness.
/// </summary>
public static partial class ServiceManager
{
    /// <summary>The environment variable systemd sets when stdout and stderr go to the journal.</summary>
    public const string JournalStreamVariable = "JOURNAL_STREAM";

    /// <summary>
    /// True when stdout is connected to journald. systemd sets <c>JOURNAL_STREAM=DEVICE:INODE</c> for
    /// the stream it connects; a process that inherited the variable with another stdout (a test
    /// runner started by a service, a child with redirected output) is not, so the inode of stdout
    /// must match, as systemd.exec(5) asks.
    /// </summary>
    public static bool LogsToJournal()
    {
        var value = Environment.GetEnvironmentVariable(JournalStreamVariable);
        var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (value is null || colon < 0 || colon == value.Length - 1)
        {
            return false;
        }

        try
        {
            // "socket:[INODE]" for the journal's stream socket ("pipe:[INODE]", a path, ...).
            var stdout = new FileInfo("/proc/self/fd/1").LinkTarget;
            return stdout is not null && stdout.EndsWith($":[{value[(colon + 1)..]}]", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static IServiceCollection AddServiceManager(this IServiceCollection services)
    {
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<ConfigurationReloader>();
        services.AddHostedService<Notifications>();
        return services;
    }

    /// <summary>
    /// <c>RELOADING=1</c> with the time on <c>CLOCK_MONOTONIC</c> in microseconds, which systemd
    /// (sd_notify(3)) asks for so it can tell this reload from an earlier one.
    /// </summary>
    internal static ServiceState Reloading()
    {
        // On Linux the stopwatch reads CLOCK_MONOTONIC.
        var microseconds = Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);
        return new ServiceState(string.Create(CultureInfo.InvariantCulture, $"RELOADING=1\nMONOTONIC_USEC={microseconds}"));
    }

    /// <summary>Sends <paramref name="state"/> on <c>NOTIFY_SOCKET</c> when it is set; a failure is logged, never thrown.</summary>
    internal static void Send(ISystemdNotifier notifier, ServiceState state, ILogger logger)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }

        var name = state.ToString().Replace('\n', ' ');
        try
        {
            notifier.Notify(state);
            Notified(logger, name);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or ArgumentException)
        {
            NotifyFailed(logger, name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 9010, Level = LogLevel.Debug, Message = "service manager notified: {State}")]
    private static partial void Notified(ILogger logger, string state);

    [LoggerMessage(EventId = 9011, Level = LogLevel.Warning, Message = "cannot notify the service manager ({State}) on NOTIFY_SOCKET: {Reason}")]
    private static partial void NotifyFailed(ILogger logger, string state, string reason);

    /// <summary>Sends the notifications and owns the SIGHUP registration for the host's lifetime.</summary>
    private sealed partial class Notifications(ISystemdNotifier notifier, IHostApplicationLifetime lifetime, RoleInfo role, ConfigurationReloader reloader, ILogger<Notifications> logger) : IHostedService, IDisposable
    {
        private PosixSignalRegistration? _hangup;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            // ApplicationStarted fires after every hosted service started, Kestrel included: the
            // listeners are bound and accept connections when systemd reads READY=1.
            lifetime.ApplicationStarted.Register(() => Send(notifier, ServiceState.Ready, logger));
            lifetime.ApplicationStopping.Register(() => Send(notifier, ServiceState.Stopping, logger));
            // The default action of SIGHUP ends the process; `systemctl reload` must not.
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                ReloadRequested(logger, role.Name);
                // Off the signal thread; reloads run one at a time.
                _ = Task.Run(reloader.Reload, CancellationToken.None);
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _hangup?.Dispose();

        [LoggerMessage(EventId = 9012, Level = LogLevel.Information, Message = "SIGHUP received: {Role} reads its configuration, certificates and keys again")]
        private static partial void ReloadRequested(ILogger logger, string role);
    }
}
