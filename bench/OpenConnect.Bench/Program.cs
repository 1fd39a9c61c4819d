using OpenConnect.Bench;

// Scenarios are registered here; each lives in its own folder.
IScenario[] scenarios = [.. ScenarioCatalog.All];

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine("usage: bench SCENARIO [options]   (bench SCENARIO --help for its options)");
    Console.WriteLine();
    foreach (var s in scenarios)
    {
        Console.WriteLine($"  {s.Name,-14} {s.Description}");
    }

    return args.Length == 0 ? 64 : 0;
}

var scenario = scenarios.FirstOrDefault(s => s.Name == args[0]);
if (scenario is null)
{
    Console.Error.WriteLine($"bench: unknown scenario '{args[0]}'; known: {string.Join(", ", scenarios.Select(s => s.Name))}");
    return 64;
}

if (args.Skip(1).Any(a => a is "-h" or "--help"))
{
    Console.WriteLine(scenario.Usage);
    return 0;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

try
{
    return await scenario.RunAsync(args[1..], cts.Token);
}
catch (BenchUsageException ex)
{
    Console.Error.WriteLine($"bench {scenario.Name}: {ex.Message}");
    return 64;
}
