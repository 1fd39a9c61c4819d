namespace OpenConnect.Launcher.Cli;

/// <summary>A command line the launcher cannot run: the message says what to fix (exit code 64).</summary>
public sealed class UsageException(string message) : Exception(message);
