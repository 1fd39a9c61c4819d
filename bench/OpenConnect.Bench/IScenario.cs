namespace OpenConnect.Bench;

/// <summary>One bench question, run as <c>bench NAME [options]</c>.</summary>
public interface IScenario
{
    string Name { get; }

    string Description { get; }

    /// <summary>Text printed by <c>bench NAME --help</c>: the scenario's options and defaults.</summary>
    string Usage { get; }

    /// <summary>Runs the scenario; prints a table and, as the very last line, one JSON object. Returns the exit code.</summary>
    Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken);
}
