using System.CommandLine;
using System.Text.Json;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>purge --appliance URL object PATH | title ID | all</c> against an appliance's control listener
/// (<c>POST /control/purge</c>): drops one object, a title or everything from its RAM and SSD tiers,
/// pins and remembered 404s included. The next request fills it again; to keep a title away
/// everywhere, take it down at the origin instead.
/// </summary>
public static class PurgeCommand
{
    public const string Path = "/control/purge";

    /// <param name="shared">This command's own instance: its options are made recursive (they apply to the subcommands).</param>
    /// <param name="output">Where answers and errors go.</param>
    public static Command Create(OperatorOptions shared, CliOutput output)
    {
        var appliance = new Option<string>("--appliance") { Description = "The appliance's control listener, e.g. https://10.0.0.5:8480 (its Appliance:ControlUrl).", Required = true };
        var identity = new Option<string?>("--identity") { Description = "The appliance's fleet identity as SITE/ID: its certificate must name exactly this one. Without it, any appliance certificate from the fleet CA is accepted and its identity is shown." };
        var purge = new Command("purge", "Drop one object, a title or everything from an appliance's cache (POST /control/purge on its control listener).") { appliance, identity };
        shared.AddTo(purge);
        // The options go before or after the subcommand: `purge --appliance URL title ID` and `purge title ID --appliance URL`.
        foreach (var option in purge.Options)
        {
            option.Recursive = true;
        }

        var path = new Argument<string>("PATH") { Description = "The object's content path, /v/{title}/{file} or /v/{title}/{rendition}/{file}." };
        var one = new Command("object", "Drop one object.") { path };
        one.SetAction((parse, ct) => RunAsync(parse, shared, output, appliance, identity, () =>
            ContentKey.TryParse(parse.GetValue(path), out var key)
                ? new { scope = "object", path = key.Path }
                : throw new CliFailure(ExitCodes.Usage, $"PATH '{parse.GetValue(path)}' is not a content path: /v/{{title}}/{{file}} or /v/{{title}}/{{rendition}}/{{file}}"), ct));

        var id = new Argument<string>("ID") { Description = "The title id." };
        var title = new Command("title", "Drop every object of a title.") { id };
        title.SetAction((parse, ct) => RunAsync(parse, shared, output, appliance, identity, () =>
            ContentKey.IsValidTitleId(parse.GetValue(id))
                ? new { scope = "title", titleId = parse.GetValue(id) }
                : throw new CliFailure(ExitCodes.Usage, $"ID '{parse.GetValue(id)}' is not a title id (1-{ContentKey.MaxTitleIdLength} characters of [A-Za-z0-9_-])"), ct));

        var all = new Command("all", "Drop everything the appliance holds.");
        all.SetAction((parse, ct) => RunAsync(parse, shared, output, appliance, identity, () => new { scope = "all" }, ct));

        purge.Subcommands.Add(one);
        purge.Subcommands.Add(title);
        purge.Subcommands.Add(all);
        return purge;
    }

    private static Task<int> RunAsync(ParseResult parse, OperatorOptions shared, CliOutput output, Option<string> appliance, Option<string?> identity, Func<object> body, CancellationToken cancellationToken) =>
        output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var request = body();
            var expected = DrainCommands.ParseAppliance(parse.GetValue(identity));
            var service = OperatorOptions.ServiceUrl(parse.GetValue(appliance)!, "--appliance");
            var answer = await shared.CallAsync(parse, service, who => who.Role == FleetRole.Appliance && (expected is null || who == expected), HttpMethod.Post, Path, cancellationToken, request).ConfigureAwait(false);
            if (!answer.Body.TryGetProperty("objects", out var objects) || objects.ValueKind != JsonValueKind.Number)
            {
                throw new CliFailure(ExitCodes.ServiceError, $"POST {Path}: the answer does not say what was purged: {answer.Body}");
            }

            var result = new PurgeResult(answer.Server, service.ToString(), CliOutput.Text(answer.Body, "scope"), objects.GetInt32(), Number(answer.Body, "pins"), Number(answer.Body, "notFoundEntries"));
            return new CliResult(result, CliOutput.Table(["APPLIANCE", "CONTROL URL", "SCOPE", "OBJECTS", "PINS", "404S"],
                [[result.Appliance, result.Url, result.Scope, $"{result.Objects}", $"{result.Pins}", $"{result.NotFoundEntries}"]]));
        });

    private static int Number(JsonElement body, string name) => body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : 0;

    /// <summary>The <c>--json</c> form of the answer.</summary>
    public sealed record PurgeResult(string Appliance, string Url, string Scope, int Objects, int Pins, int NotFoundEntries);
}
