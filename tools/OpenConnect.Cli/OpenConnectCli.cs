using System.CommandLine;
using OpenConnect.Cli.ConfigCheck;
using OpenConnect.Cli.Operator;

namespace OpenConnect.Cli;

/// <summary>The <c>openconnect</c> command line: its commands, parsed and run with the given writers (tests pass their own).</summary>
public static class OpenConnectCli
{
    public static RootCommand Build(CliOutput output)
    {
        var root = new RootCommand("openconnect: the OpenConnect operator CLI.\n" + ExitCodes.Help);
        root.Subcommands.Add(CheckConfigCommand.Create(output));
        var shared = new OperatorOptions();
        foreach (var command in DrainCommands.Create(shared, output))
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(PurgeCommand.Create(new OperatorOptions(), output));
        root.Subcommands.Add(FillCommands.Create(shared, output));
        root.Subcommands.Add(EnrollCommands.Create(shared, output));
        root.Subcommands.Add(StatusCommand.Create(shared, output));
        return root;
    }

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var parse = Build(new CliOutput(output, error)).Parse(args);
        return parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
