namespace OpenConnect.Bench;

/// <summary>Bad options or input files: reported as one line and exit code 64.</summary>
public sealed class BenchUsageException(string message) : Exception(message);
