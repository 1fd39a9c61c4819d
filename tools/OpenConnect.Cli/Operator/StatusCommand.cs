using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Fill;
using OpenConnect.Steering.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>status --steering ENROLL_URL [--steering ENROLL_URL…] [--fill-controller CONTROL_URL]</c>: the fleet as steering sees it (the first replica that answers)
/// (<c>GET /fleet/roster</c> on its enrollment listener, with the operator certificate or token):
/// each site's appliances by health, load and hit ratio, then every appliance with its health, load
/// against capacity, connections, hit ratio, last heartbeat, holdings and version. With the fill
/// controller (<c>GET /fill/sites</c>, operator certificate), each site's fill progress against its
/// night window too.
/// </summary>
public static class StatusCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create(OperatorOptions shared, CliOutput output)
    {
        var controller = new Option<string?>("--fill-controller") { Description = "The fill controller's control listener, e.g. https://10.0.0.3:8380: adds each site's fill progress against its night window (needs --cert and --key)." };
        var command = new Command("status", "Show the fleet: sites and appliances with health, load, hit ratio, last heartbeat, holdings, version, and (with --fill-controller) fill progress.") { controller };
        var steering = SteeringReplicas.AddTo(command, "Steering's enrollment listener, e.g. https://10.0.0.2:8281 (its Steering:Fleet:EnrollUrl), where operators read the roster.");
        shared.AddTo(command, takesToken: true);
        command.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var steeringUrls = await SteeringReplicas.UrlsAsync(parse, steering, cancellationToken).ConfigureAwait(false);
            var fillUrl = parse.GetValue(controller) is { } text ? OperatorOptions.ServiceUrl(text, "--fill-controller") : null;
            var rosterAnswer = await SteeringReplicas.ReadAsync(shared, parse, steeringUrls, "/fleet/roster", cancellationToken).ConfigureAwait(false);
            var roster = Read<FleetRoster.Snapshot>(rosterAnswer.Body, "GET /fleet/roster");
            FillSites? fill = null;
            if (fillUrl is not null)
            {
                var fillAnswer = await shared.CallAsync(parse, fillUrl, identity => identity == FleetIdentity.FillController, HttpMethod.Get, "/fill/sites", cancellationToken).ConfigureAwait(false);
                fill = Read<FillSites>(fillAnswer.Body, "GET /fill/sites");
            }

            return new CliResult(new FleetStatus(roster, fill), Text(roster, fill));
        }));
        return command;
    }

    private static T Read<T>(JsonElement body, string call)
        where T : class
    {
        try
        {
            return body.Deserialize<T>(Json) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            throw new CliFailure(ExitCodes.ServiceError, $"{call}: the answer is not the expected JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The human form: a summary line, a table of sites, a table of appliances.</summary>
    public static string Text(FleetRoster.Snapshot roster, FillSites? fill)
    {
        var appliances = roster.Appliances ?? [];
        var sites = roster.Sites ?? [];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{appliances.Count} appliance(s) in {sites.Count} site(s): {appliances.Count(a => a.Health == FleetRoster.Healthy)} healthy");
        foreach (var health in (ReadOnlySpan<string>)[FleetRoster.Draining, FleetRoster.Expired, FleetRoster.CacheFailed])
        {
            var count = appliances.Count(a => a.Health == health);
            if (count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $", {count} {health}");
            }
        }

        var fillBySite = (fill?.Sites ?? []).ToDictionary(s => s.Site, StringComparer.Ordinal);
        var siteNames = sites.Select(s => s.Name).Union(fillBySite.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (siteNames.Count > 0)
        {
            var rows = siteNames.Select(name =>
            {
                var site = sites.FirstOrDefault(s => s.Name == name);
                return (IReadOnlyList<string>)[
                    name,
                    site is null ? "0" : $"{site.Healthy}/{site.Appliances}",
                    site is null ? "-" : Mbits(site.BytesPerSecondOut) + "/" + Mbits(site.CapacityBytesPerSecond),
                    site is null ? "-" : site.Connections.ToString(CultureInfo.InvariantCulture),
                    Percent(site?.HitRatio),
                    fill is null ? "-" : fillBySite.TryGetValue(name, out var progress) ? FillText(progress) : "no window",
                ];
            }).ToList();
            text.Append("\n\n").Append(CliOutput.Table(["SITE", "HEALTHY", "OUT/CAPACITY Mbit/s", "CONNS", "HIT", "FILL"], rows));
        }

        if (appliances.Count > 0)
        {
            var rows = appliances.Select(a => (IReadOnlyList<string>)[
                a.Site,
                a.Id,
                a.Health,
                Percent(a.Load),
                Mbits(a.BytesPerSecondOut),
                a.Connections.ToString(CultureInfo.InvariantCulture),
                Percent(a.HitRatio),
                Ago(a.HeartbeatAgeSeconds),
                a.Titles.ToString(CultureInfo.InvariantCulture),
                (a.SsdBytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture),
                a.Version ?? "-",
                a.PublicUrl,
            ]).ToList();
            text.Append("\n\n").Append(CliOutput.Table(["SITE", "ID", "HEALTH", "LOAD", "OUT Mbit/s", "CONNS", "HIT", "HEARTBEAT", "TITLES", "SSD GB", "VERSION", "PUBLIC URL"], rows));
        }

        if (fill?.RosterError is { } error)
        {
            text.Append("\nwarning: the fill controller could not read steering's roster: ").Append(error);
        }

        return text.ToString();
    }

    /// <summary>Fill progress: copies complete of planned, and how far the window is (or when it opens).</summary>
    private static string FillText(SiteProgress site)
    {
        var copies = site.CopiesPlanned == 0 ? "nothing planned" : $"{site.CopiesComplete}/{site.CopiesPlanned} copies ({Percent(site.Progress)})";
        var window = site.Open
            ? $"open until {site.OpenUntil.UtcDateTime:HH:mm}Z, window {Percent(site.WindowElapsed)} gone"
            : $"window {site.WindowStart.UtcDateTime:HH:mm}-{site.WindowEnd.UtcDateTime:HH:mm}Z";
        return $"{copies}, {window}";
    }

    private static string Mbits(long bytesPerSecond) => (bytesPerSecond * 8 / 1e6).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Percent(double? fraction) => fraction is { } value ? (value * 100).ToString("0", CultureInfo.InvariantCulture) + "%" : "-";

    private static string Ago(double seconds) => seconds switch
    {
        < 120 => $"{seconds:0}s ago",
        < 7200 => $"{seconds / 60:0}m ago",
        _ => $"{seconds / 3600:0}h ago",
    };

    /// <summary>The <c>--json</c> form: steering's roster, and the fill controller's sites when asked (else null).</summary>
    public sealed record FleetStatus(FleetRoster.Snapshot Roster, FillSites? Fill);
}
