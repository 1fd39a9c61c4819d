using OpenConnect.Launcher.Processes;

namespace OpenConnect.Testing;

/// <summary>Runs a command to completion with a deadline and captures its output (the launcher's <see cref="CommandRunner"/>).</summary>
public static class ExternalProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null)
    {
        var result = await CommandRunner.RunAsync(fileName, arguments, timeout, workingDirectory);
        return new Result(result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
