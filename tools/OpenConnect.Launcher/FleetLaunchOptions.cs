namespace OpenConnect.Launcher;

/// <summary>What a caller adds to a fleet's start: where the binaries are, its operator's name, its own settings and command prefix.</summary>
public sealed class FleetLaunchOptions
{
    /// <summary>The repository whose Release build is started (<c>{root}/origin/OpenConnect.Origin/bin/Release/net10.0/…</c>).</summary>
    public required string RepositoryRoot { get; init; }

    /// <summary>The operator certificate's identity (the fill controller's operator endpoints take it). Default <c>openconnect://operator/launcher</c>.</summary>
    public string OperatorIdentity { get; init; } = "openconnect://operator/launcher";

    /// <summary>Settings appended to a role's own (by role name: <c>steering</c>, <c>origin</c>, <c>fill-controller</c> or an appliance id); later settings win. Default none.</summary>
    public Func<string, IEnumerable<string>> ExtraSettings { get; init; } = _ => [];

    /// <summary>A command every role runs under, e.g. <c>taskset -c 0</c>. Default none.</summary>
    public IReadOnlyList<string> Prefix { get; init; } = [];

    /// <summary>The process whose exit takes every role down (the watchdogs' owner). Default this process.</summary>
    public int OwnerPid { get; init; } = Environment.ProcessId;

    /// <summary>How long each role gets to write its key or answer <c>/healthz</c>. Default 120 s.</summary>
    public TimeSpan StartTimeout { get; init; } = Processes.Readiness.StartTimeout;
}
