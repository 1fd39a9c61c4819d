using System.CommandLine;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>enroll add ID --site SITE</c>, <c>enroll remove ID</c> and <c>enroll list</c> against steering's
/// enrollment listener (<c>POST</c>, <c>DELETE /fleet/appliances/{id}</c>, <c>GET /fleet/appliances</c>),
/// with an operator certificate or the operator token; the server must be <c>openconnect://steering</c>.
/// With several <c>--steering</c> (one per replica) add and remove go to every replica, one row each,
/// and exit non-zero when one failed; add lets the first replica that answers make the code and
/// gives the others the same code, so the appliance enrolls with it on any of them. list reads the
/// first replica that answers (<see cref="SteeringReplicas"/>).
/// </summary>
public static class EnrollCommands
{
    public const string Path = "/fleet/appliances";

    public static Command Create(OperatorOptions shared, CliOutput output)
    {
        var enroll = new Command("enroll", "Add an appliance to the fleet (a one-time enrollment code), remove one (its certificates revoked), or list them (steering's enrollment listener).");
        const string SteeringHelp = "Steering's enrollment listener, e.g. https://10.0.0.2:8281 (its Steering:Fleet:EnrollUrl).";

        var id = new Argument<string>("ID") { Description = "The appliance's id." };
        var site = new Option<string>("--site") { Description = "The appliance's site.", Required = true };
        var add = new Command("add", "Add an appliance: prints the one-time code it enrolls with (Appliance:Fleet:EnrollmentCode).") { id, site };
        var addSteering = SteeringReplicas.AddTo(add, SteeringHelp);
        shared.AddTo(add, takesToken: true);
        add.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var (applianceId, siteName) = (Name(parse.GetValue(id)!, "ID"), Name(parse.GetValue(site)!, "--site"));
            var urls = await SteeringReplicas.UrlsAsync(parse, addSteering, cancellationToken).ConfigureAwait(false);
            // The first replica that answers makes the code; the others are given the same one.
            var results = await SteeringReplicas.WriteAsync(shared, parse, urls, HttpMethod.Post, Path, before =>
                new { id = applianceId, site = siteName, code = before.FirstOrDefault(r => r.Answer is not null)?.Answer is { } issued ? CliOutput.Text(issued, "code") : null }, cancellationToken).ConfigureAwait(false);
            var answer = results.FirstOrDefault(r => r.Answer is not null)?.Answer;
            var summary = answer is { } a
                ? $"{CliOutput.Text(a, "identity")}: enrollment code {CliOutput.Text(a, "code")} (expires {CliOutput.Text(a, "expires")})"
                : $"appliance {applianceId}: no steering replica added it";
            return SteeringReplicas.Report(results, (object?)answer ?? new { id = applianceId, site = siteName }, summary, _ => "added", output.Error);
        }));

        var removeId = new Argument<string>("ID") { Description = "The appliance's id." };
        var remove = new Command("remove", "Remove an appliance: its certificates are revoked and steering stops sending players to it at once.") { removeId };
        var removeSteering = SteeringReplicas.AddTo(remove, SteeringHelp);
        shared.AddTo(remove, takesToken: true);
        remove.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var applianceId = Name(parse.GetValue(removeId)!, "ID");
            var results = await SteeringReplicas.WriteAsync(shared, parse, await SteeringReplicas.UrlsAsync(parse, removeSteering, cancellationToken).ConfigureAwait(false), HttpMethod.Delete, $"{Path}/{applianceId}", _ => null, cancellationToken).ConfigureAwait(false);
            var answers = results.Where(r => r.Answer is not null).Select(r => r.Answer!.Value).ToList();
            var summary = answers.Count == 0 ? $"appliance {applianceId}: no steering replica removed it"
                : answers.All(a => Flag(a, "alreadyRemoved")) ? $"{applianceId} was already removed"
                : $"removed {applianceId}";
            return SteeringReplicas.Report(results, new { removed = applianceId }, summary, a => Flag(a, "alreadyRemoved") ? "already removed" : "removed", output.Error);
        }));

        var list = new Command("list", "List the enrolled appliances: enrolled (holds a certificate), pending code, registered with steering now.");
        var listSteering = SteeringReplicas.AddTo(list, SteeringHelp);
        shared.AddTo(list, takesToken: true);
        list.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var answer = (await SteeringReplicas.ReadAsync(shared, parse, await SteeringReplicas.UrlsAsync(parse, listSteering, cancellationToken).ConfigureAwait(false), Path, cancellationToken).ConfigureAwait(false)).Body;
            if (answer.ValueKind != JsonValueKind.Array)
            {
                throw new CliFailure(ExitCodes.ServiceError, $"GET {Path}: the answer is not a list: {answer}");
            }

            var rows = answer.EnumerateArray()
                .Select(a => (IReadOnlyList<string>)[CliOutput.Text(a, "site"), CliOutput.Text(a, "id"), Flag(a, "enrolled") ? "yes" : "no", CliOutput.Text(a, "pendingCodeExpires"), Flag(a, "registered") ? "yes" : "no"])
                .ToList();
            return new CliResult(answer, rows.Count == 0 ? "no appliances enrolled" : CliOutput.Table(["SITE", "ID", "ENROLLED", "CODE EXPIRES", "REGISTERED"], rows));
        }));

        enroll.Subcommands.Add(add);
        enroll.Subcommands.Add(remove);
        enroll.Subcommands.Add(list);
        return enroll;
    }

    private static string Name(string value, string name) =>
        FleetIdentity.IsValidName(value) ? value : throw new CliFailure(ExitCodes.Usage, $"{name} '{value}' must be {FleetIdentity.NameRule}");

    private static bool Flag(JsonElement body, string name) => body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
