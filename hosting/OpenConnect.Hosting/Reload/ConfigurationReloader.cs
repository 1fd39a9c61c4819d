using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using OpenConnect.Hosting.Systemd;

namespace OpenConnect.Hosting;

/// <summary>What one reload did: refused (the running configuration stays), or applied with each changed key and each reloaded part.</summary>
/// <param name="Refusals">Why the new configuration was refused, each naming the key or file at fault; empty when it was applied.</param>
/// <param name="Changes">The changed keys and whether each applied live (empty when refused).</param>
/// <param name="Replaced">The <see cref="IReloadable.Name"/>s that took something new.</param>
/// <param name="Failures">The parts that refused their new files, each with the reason; their current values stay.</param>
public sealed record ReloadReport(IReadOnlyList<string> Refusals, IReadOnlyList<ChangedKey> Changes, IReadOnlyList<string> Replaced, IReadOnlyList<string> Failures)
{
    public bool Applied => Refusals.Count == 0;
}

/// <summary>
/// The one reload path of every role (SIGHUP, <c>systemctl reload</c>): builds the configuration
/// again from the same sources (the <c>--config</c> file, environment, command line), binds and
/// validates every options class against it, and refuses it as a whole, naming the key at fault,
/// when one fails; otherwise applies it (<c>IOptionsMonitor</c> consumers see the new values), logs
/// each changed key as applied or needing a restart (<see cref="LiveSetting"/>), and has every
/// <see cref="IReloadable"/> read its files again. Connections stay open throughout: nothing here
/// touches a listener. Under systemd, <c>RELOADING=1</c> comes first and <c>READY=1</c> last.
/// </summary>
public sealed partial class ConfigurationReloader
{
    private readonly object _gate = new();
    private readonly IConfiguration _configuration;
    private readonly IServiceProvider _services;
    private readonly ISystemdNotifier _notifier;
    private readonly ILogger<ConfigurationReloader> _logger;

    public ConfigurationReloader(IConfiguration configuration, IServiceProvider services, ISystemdNotifier notifier, ILogger<ConfigurationReloader> logger)
    {
        _configuration = configuration;
        _services = services;
        _notifier = notifier;
        _logger = logger;
    }

    /// <summary>Reloads (one at a time); see the class summary. Never throws for bad input: the report and the log say what was refused.</summary>
    public ReloadReport Reload()
    {
        lock (_gate)
        {
            ServiceManager.Send(_notifier, ServiceManager.Reloading(), _logger);
            try
            {
                var report = ReloadLocked();
                Done(_logger, report.Applied ? "applied" : "refused", report.Changes.Count(c => c.Live), report.Changes.Count(c => !c.Live), report.Replaced.Count, report.Failures.Count);
                return report;
            }
            finally
            {
                ServiceManager.Send(_notifier, ServiceState.Ready, _logger);
            }
        }
    }

    private ReloadReport ReloadLocked()
    {
        if (_configuration is not (IConfigurationRoot root and IConfigurationBuilder sources))
        {
            return Refuse("this host's configuration cannot be read again");
        }

        var running = Flatten(_configuration);
        ConfigurationRoot candidate;
        try
        {
            var builder = new ConfigurationBuilder();
            foreach (var source in sources.Sources)
            {
                builder.Add(source);
            }

            candidate = (ConfigurationRoot)builder.Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException or InvalidOperationException or System.Text.Json.JsonException)
        {
            return Refuse(Describe(ex));
        }

        List<KeyValuePair<string, string?>> next;
        using (candidate)
        {
            var problems = new List<string>();
            foreach (var check in _services.GetServices<IOptionsReloadCheck>())
            {
                problems.AddRange(check.Check(candidate));
            }

            if (problems.Count > 0)
            {
                return Refuse([.. problems]);
            }

            next = Flatten(candidate);
        }

        var changes = ConfigurationDiff.Compare(running, next, [.. _services.GetServices<LiveSetting>()]);
        try
        {
            // The same sources again, now in place: change tokens fire and IOptionsMonitor re-binds.
            root.Reload();
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException or System.Text.Json.JsonException)
        {
            // The file changed again between the check and now; what loaded is what the check saw or the previous one.
            return Refuse(Describe(ex));
        }

        foreach (var change in changes)
        {
            if (change.Live)
            {
                KeyApplied(_logger, change.Key, Verb(change.Change));
            }
            else
            {
                KeyNeedsRestart(_logger, change.Key, Verb(change.Change));
            }
        }

        var replaced = new List<string>();
        var failures = new List<string>();
        foreach (var part in _services.GetServices<IReloadable>())
        {
            try
            {
                if (part.Reload())
                {
                    replaced.Add(part.Name);
                    PartReplaced(_logger, part.Name);
                }
            }
            catch (InvalidOperationException ex)
            {
                failures.Add($"{part.Name}: {ex.Message}");
                PartRefused(_logger, part.Name, ex.Message);
            }
        }

        return new ReloadReport([], changes, replaced, failures);
    }

    private ReloadReport Refuse(params string[] problems)
    {
        foreach (var problem in problems)
        {
            Refused(_logger, problem);
        }

        return new ReloadReport(problems, [], [], []);
    }

    private static List<KeyValuePair<string, string?>> Flatten(IConfiguration configuration) => [.. configuration.AsEnumerable()];

    private static string Verb(KeyChange change) => change switch
    {
        KeyChange.Added => "set",
        KeyChange.Removed => "removed",
        _ => "changed",
    };

    private static string Describe(Exception ex)
    {
        // "Failed to load configuration from file '…'." wraps the parser's line and position.
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += ": " + inner.Message;
        }

        return message;
    }

    [LoggerMessage(EventId = 9020, Level = LogLevel.Error, Message = "reload refused, the running configuration stays: {Problem}")]
    private static partial void Refused(ILogger logger, string problem);

    [LoggerMessage(EventId = 9021, Level = LogLevel.Information, Message = "reload: {Key} {Change}: applied")]
    private static partial void KeyApplied(ILogger logger, string key, string change);

    [LoggerMessage(EventId = 9022, Level = LogLevel.Warning, Message = "reload: {Key} {Change}: needs a restart (systemctl restart); the running value stays until then")]
    private static partial void KeyNeedsRestart(ILogger logger, string key, string change);

    [LoggerMessage(EventId = 9023, Level = LogLevel.Information, Message = "reload: {Part} replaced, for new connections and requests")]
    private static partial void PartReplaced(ILogger logger, string part);

    [LoggerMessage(EventId = 9024, Level = LogLevel.Error, Message = "reload: {Part} refused, the current one stays: {Reason}")]
    private static partial void PartRefused(ILogger logger, string part, string reason);

    [LoggerMessage(EventId = 9025, Level = LogLevel.Information, Message = "reload {Outcome}: {Applied} changed settings applied, {NeedRestart} need a restart, {Replaced} parts replaced, {Failed} refused")]
    private static partial void Done(ILogger logger, string outcome, int applied, int needRestart, int replaced, int failed);
}
