using System.CommandLine;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>status --steering CONTROL_URL</c>: the appliances steering knows, by site, from its roster
/// (gRPC <c>ApplianceRoster.List</c> on its control listener, which takes operator certificates):
/// public URL, SSD bytes and how long ago each last sent a heartbeat.
/// </summary>
public static class StatusCommand
{
    public static Command Create(OperatorOptions shared, CliOutput output, TimeProvider time)
    {
        var steering = new Option<string>("--steering") { Description = "Steering's control listener, e.g. https://10.0.0.2:8280 (its Steering:ControlUrl).", Required = true };
        var command = new Command("status", "Show the fleet as steering sees it: sites, appliances, their public URLs, SSD size and last heartbeat.") { steering };
        shared.AddTo(command);
        command.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var service = OperatorOptions.ServiceUrl(parse.GetValue(steering)!, "--steering");
            using var credentials = shared.LoadCredentials(parse);
            using var client = new FleetClient(service, credentials, identity => identity == FleetIdentity.Steering, shared.Timeout(parse));
            var reply = await client.CallGrpcAsync(
                "ApplianceRoster.List",
                async (channel, token) => await new ApplianceRoster.ApplianceRosterClient(channel).ListAsync(new RosterRequest(), cancellationToken: token),
                cancellationToken).ConfigureAwait(false);

            var now = time.GetUtcNow();
            var appliances = reply.Appliances
                .OrderBy(a => a.Site, StringComparer.Ordinal).ThenBy(a => a.ApplianceId, StringComparer.Ordinal)
                .Select(a => new FleetAppliance(a.Site, a.ApplianceId, a.PublicUrl, a.ParentUrl, a.SsdBytes, DateTimeOffset.FromUnixTimeMilliseconds(a.LastHeartbeatUnixMs)))
                .ToList();
            var sites = appliances.Select(a => a.Site).Distinct(StringComparer.Ordinal).Count();
            var summary = $"{appliances.Count} appliance(s) in {sites} site(s)";
            var text = appliances.Count == 0
                ? summary
                : summary + "\n" + CliOutput.Table(
                    ["SITE", "ID", "PUBLIC URL", "SSD GB", "LAST HEARTBEAT"],
                    [.. appliances.Select(a => (IReadOnlyList<string>)[a.Site, a.Id, a.PublicUrl, (a.SsdBytes / 1e9).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), Ago(now - a.LastHeartbeat)])]);
            return new CliResult(new FleetStatus(appliances.Count, sites, appliances), text);
        }));
        return command;
    }

    private static string Ago(TimeSpan age) => age switch
    {
        { TotalSeconds: < 0 } => "just now",
        { TotalSeconds: < 120 } => $"{age.TotalSeconds:0}s ago",
        { TotalMinutes: < 120 } => $"{age.TotalMinutes:0}m ago",
        _ => $"{age.TotalHours:0}h ago",
    };

    /// <summary>The <c>--json</c> form.</summary>
    public sealed record FleetStatus(int Appliances, int Sites, IReadOnlyList<FleetAppliance> Roster);

    public sealed record FleetAppliance(string Site, string Id, string PublicUrl, string ParentUrl, long SsdBytes, DateTimeOffset LastHeartbeat);
}
