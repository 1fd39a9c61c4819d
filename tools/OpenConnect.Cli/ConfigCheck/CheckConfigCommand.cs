using System.CommandLine;

namespace OpenConnect.Cli.ConfigCheck;

/// <summary><c>check-config ROLE FILE</c>: like <c>nginx -t</c>, validates a role's config file and names the key at fault.</summary>
public static class CheckConfigCommand
{
    public static Command Create(CliOutput output)
    {
        var role = new Argument<string>("ROLE") { Description = $"The role the file is for: {string.Join(", ", RoleConfigCheck.Roles.Keys)}." };
        var file = new Argument<string>("FILE") { Description = "The JSON config file the role would be started with (--config FILE)." };
        var command = new Command("check-config", "Validate a role's config file exactly as the role does at start (unknown keys and invalid values are refused, naming the key), without starting it. Environment variables the role would read (e.g. Steering__ControlUrl) apply too.")
        {
            role,
            file,
        };
        command.SetAction(async (parse, _) =>
        {
            var result = await RoleConfigCheck.CheckAsync(parse.GetValue(role)!, parse.GetValue(file)!).ConfigureAwait(false);
            var writer = result.ExitCode == ExitCodes.Ok ? output.Output : output.Error;
            foreach (var line in result.Lines)
            {
                await writer.WriteLineAsync(line).ConfigureAwait(false);
            }

            return result.ExitCode;
        });
        return command;
    }
}
