using OpenConnect.Launcher.Cli;

// The fleet launcher's CLI: `up` starts and enrolls the loopback fleet and stays in the foreground.
if (args.Length == 0 || args[0] is "-h" or "--help" || (args[0] == "up" && args.Skip(1).Any(a => a is "-h" or "--help")))
{
    Console.WriteLine(UpArguments.Usage);
    return args.Length == 0 ? 64 : 0;
}

try
{
    if (args[0] != "up")
    {
        throw new UsageException($"unknown command '{args[0]}' (commands: up)");
    }

    return await UpCommand.RunAsync(UpArguments.Parse(args[1..]), Console.Out, Console.Error);
}
catch (Exception ex) when (ex is UsageException or ArgumentException)
{
    Console.Error.WriteLine($"error: {ex.Message} (see --help)");
    return 64;
}
