namespace OpenConnect.Launcher.Processes;

/// <summary>A role exited, timed out or was refused while the fleet started: the message names it and holds its last log lines.</summary>
public sealed class LaunchException(string message, Exception? inner = null) : Exception(message, inner);
