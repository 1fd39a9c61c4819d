using System.CommandLine;
using System.Text;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// <c>fill open SITE</c> and <c>fill status SITE</c> against the fill controller's control listener
/// (<c>POST /fill/sites/{site}/open</c>, <c>GET /fill/sites/{site}</c>); the server must be
/// <c>openconnect://fill-controller</c>.
/// </summary>
public static class FillCommands
{
    public static Command Create(OperatorOptions shared, CliOutput output)
    {
        var fill = new Command("fill", "Open a site's fill now, or show its fill progress (the fill controller's control listener).");
        fill.Subcommands.Add(Make("open", "Collect play history and titles, then open the site's fill now for the length of its window (POST /fill/sites/{site}/open).", HttpMethod.Post, "/open", shared, output, Opened));
        fill.Subcommands.Add(Make("status", "Show the site's fill run and each planned title: live or filling, copies complete of planned (GET /fill/sites/{site}).", HttpMethod.Get, "", shared, output, Status));
        return fill;
    }

    private static Command Make(string name, string description, HttpMethod method, string suffix, OperatorOptions shared, CliOutput output, Func<JsonElement, string> text)
    {
        var site = new Argument<string>("SITE") { Description = "The site's name, as in steering's prefix tables." };
        var controller = new Option<string>("--fill-controller") { Description = "The fill controller's control listener, e.g. https://10.0.0.3:8380 (its FillController:Fill:ControlUrl).", Required = true };
        var command = new Command(name, description) { site, controller };
        shared.AddTo(command);
        command.SetAction((parse, cancellationToken) => output.RunAsync(parse.GetValue(shared.Json), async () =>
        {
            var siteName = parse.GetValue(site)!;
            if (!FleetIdentity.IsValidName(siteName))
            {
                throw new CliFailure(ExitCodes.Usage, $"SITE '{siteName}' must be {FleetIdentity.NameRule}");
            }

            var service = OperatorOptions.ServiceUrl(parse.GetValue(controller)!, "--fill-controller");
            var answer = await shared.CallAsync(parse, service, identity => identity == FleetIdentity.FillController, method, $"/fill/sites/{siteName}{suffix}", cancellationToken).ConfigureAwait(false);
            return new CliResult(answer.Body, text(answer.Body));
        }));
        return command;
    }

    private static string Opened(JsonElement body)
    {
        var text = new StringBuilder();
        text.Append($"site {CliOutput.Text(body, "site")}: fill open for {CliOutput.Text(body, "day")} until {CliOutput.Text(body, "openUntil")}: {CliOutput.Text(body, "filesPlaced")} files placed, {CliOutput.Text(body, "manifests")} manifests");
        if (body.TryGetProperty("collectError", out var error) && error.ValueKind == JsonValueKind.String)
        {
            text.Append($"\nwarning: planned on earlier play history and titles: collecting now failed: {error.GetString()}");
        }

        return text.ToString();
    }

    private static string Status(JsonElement body)
    {
        var run = body.TryGetProperty("day", out var day) && day.ValueKind == JsonValueKind.String
            ? $"site {CliOutput.Text(body, "site")}: fill run for {day.GetString()}, open until {CliOutput.Text(body, "openUntil")}"
            : $"site {CliOutput.Text(body, "site")}: no fill run yet";
        var rows = new List<IReadOnlyList<string>>();
        if (body.TryGetProperty("titles", out var titles) && titles.ValueKind == JsonValueKind.Array)
        {
            foreach (var title in titles.EnumerateArray())
            {
                var appliances = title.TryGetProperty("appliances", out var list) && list.ValueKind == JsonValueKind.Array
                    ? string.Join(",", list.EnumerateArray().Select(a => a.ToString()))
                    : "";
                rows.Add([CliOutput.Text(title, "title"), CliOutput.Text(title, "state"), $"{CliOutput.Text(title, "copiesComplete")}/{CliOutput.Text(title, "copiesPlanned")}", CliOutput.Text(title, "copiesFailed"), CliOutput.Text(title, "copiesHeld"), appliances]);
            }
        }

        return rows.Count == 0
            ? run + "\nno titles planned"
            : run + "\n" + CliOutput.Table(["TITLE", "STATE", "COMPLETE", "FAILED", "HELD", "APPLIANCES"], rows);
    }
}
