using System.CommandLine;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>drain</c>, <c>undrain</c> and <c>drain-status</c> against an appliance's control listener
/// (<c>POST</c>, <c>DELETE</c>, <c>GET /control/drain</c>): steering stops sending players to a
/// draining appliance; it keeps serving the ones it has.
/// </summary>
public static class DrainCommands
{
    public const string Path = "/control/drain";

    public static IEnumerable<Command> Create(OperatorOptions shared, CliOutput output)
    {
        yield return Make("drain", "Start draining an appliance (POST /control/drain on its control listener).", HttpMethod.Post, shared, output);
        yield return Make("undrain", "Stop draining an appliance (DELETE /control/drain).", HttpMethod.Delete, shared, output);
        yield return Make("drain-status", "Show whether an appliance is draining (GET /control/drain).", HttpMethod.Get, shared, output);
    }

    private static Command Make(string name, string description, HttpMethod method, OperatorOptions shared, CliOutput output)
    {
        var url = new Argument<string>("APPLIANCE_CONTROL_URL") { Description = "The appliance's control listener, e.g. https://10.0.0.5:8480 (its Appliance:ControlUrl)." };
        var appliance = new Option<string?>("--appliance") { Description = "The appliance's fleet identity as SITE/ID: its certificate must name exactly this one. Without it, any appliance certificate from the fleet CA is accepted and its identity is shown." };
        var command = new Command(name, description) { url, appliance };
        shared.AddTo(command);
        command.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var expected = ParseAppliance(parse.GetValue(appliance));
            var service = OperatorOptions.ServiceUrl(parse.GetValue(url)!, "APPLIANCE_CONTROL_URL");
            var answer = await shared.CallAsync(parse, service, identity => identity.Role == FleetRole.Appliance && (expected is null || identity == expected), method, Path, cancellationToken).ConfigureAwait(false);
            if (!answer.Body.TryGetProperty("draining", out var draining) || draining.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw new CliFailure(ExitCodes.ServiceError, $"{method} {Path}: the answer has no draining flag: {answer.Body}");
            }

            var result = new DrainState(answer.Server, service.ToString(), draining.GetBoolean());
            return new CliResult(result, CliOutput.Table(["APPLIANCE", "CONTROL URL", "STATE"], [[result.Appliance, result.Url, result.Draining ? "draining" : "serving"]]));
        }));
        return command;
    }

    internal static FleetIdentity? ParseAppliance(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var parts = text.Split('/');
        if (parts.Length != 2 || !FleetIdentity.IsValidName(parts[0]) || !FleetIdentity.IsValidName(parts[1]))
        {
            throw new CliFailure(ExitCodes.Usage, $"--appliance '{text}' must be SITE/ID, each {FleetIdentity.NameRule}");
        }

        return FleetIdentity.Appliance(parts[0], parts[1]);
    }

    /// <summary>The <c>--json</c> form of the answer.</summary>
    public sealed record DrainState(string Appliance, string Url, bool Draining);
}
