using System.CommandLine;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>enroll add ID --site SITE</c>, <c>enroll remove ID</c> and <c>enroll list</c> against steering's
/// enrollment listener (<c>POST</c>, <c>DELETE /fleet/appliances/{id}</c>, <c>GET /fleet/appliances</c>),
/// with an operator certificate or the operator token; the server must be <c>openconnect://steering</c>.
/// </summary>
public static class EnrollCommands
{
    public const string Path = "/fleet/appliances";

    public static Command Create(OperatorOptions shared, CliOutput output)
    {
        var enroll = new Command("enroll", "Add an appliance to the fleet (a one-time enrollment code), remove one (its certificates revoked), or list them (steering's enrollment listener).");
        var steering = new Option<string>("--steering") { Description = "Steering's enrollment listener, e.g. https://10.0.0.2:8281 (its Steering:Fleet:EnrollUrl).", Required = true };

        var id = new Argument<string>("ID") { Description = "The appliance's id." };
        var site = new Option<string>("--site") { Description = "The appliance's site.", Required = true };
        var add = new Command("add", "Add an appliance: prints the one-time code it enrolls with (Appliance:Fleet:EnrollmentCode).") { id, site, steering };
        shared.AddTo(add, takesToken: true);
        add.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var (applianceId, siteName) = (Name(parse.GetValue(id)!, "ID"), Name(parse.GetValue(site)!, "--site"));
            var answer = await CallAsync(shared, parse, steering, HttpMethod.Post, Path, cancellationToken, new { id = applianceId, site = siteName }).ConfigureAwait(false);
            return new CliResult(answer, $"{CliOutput.Text(answer, "identity")}: enrollment code {CliOutput.Text(answer, "code")} (expires {CliOutput.Text(answer, "expires")})");
        }));

        var removeId = new Argument<string>("ID") { Description = "The appliance's id." };
        var remove = new Command("remove", "Remove an appliance: its certificates are revoked and steering stops sending players to it at once.") { removeId, steering };
        shared.AddTo(remove, takesToken: true);
        remove.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var applianceId = Name(parse.GetValue(removeId)!, "ID");
            var answer = await CallAsync(shared, parse, steering, HttpMethod.Delete, $"{Path}/{applianceId}", cancellationToken).ConfigureAwait(false);
            return new CliResult(answer, $"removed {CliOutput.Text(answer, "removed")}");
        }));

        var list = new Command("list", "List the enrolled appliances: enrolled (holds a certificate), pending code, registered with steering now.") { steering };
        shared.AddTo(list, takesToken: true);
        list.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var answer = await CallAsync(shared, parse, steering, HttpMethod.Get, Path, cancellationToken).ConfigureAwait(false);
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

    private static async Task<JsonElement> CallAsync(OperatorOptions shared, ParseResult parse, Option<string> steering, HttpMethod method, string path, CancellationToken cancellationToken, object? body = null)
    {
        var service = OperatorOptions.ServiceUrl(parse.GetValue(steering)!, "--steering");
        var answer = await shared.CallAsync(parse, service, identity => identity == FleetIdentity.Steering, method, path, cancellationToken, body).ConfigureAwait(false);
        return answer.Body;
    }

    private static string Name(string value, string name) =>
        FleetIdentity.IsValidName(value) ? value : throw new CliFailure(ExitCodes.Usage, $"{name} '{value}' must be {FleetIdentity.NameRule}");

    private static bool Flag(JsonElement body, string name) => body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
