namespace OpenConnect.Launcher.Processes;

/// <summary>Waits for a starting role: a file it writes, its management <c>/healthz</c>; fails with its last log lines when it exits first or takes too long.</summary>
public static class Readiness
{
    /// <summary>How long a role gets to write a key file or answer <c>/healthz</c>.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Waits until <paramref name="role"/> has written <paramref name="file"/>; its trimmed content.</summary>
    public static Task<string> WaitForFileAsync(LaunchedRole role, string file, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        WaitAsync(role, $"write {file}", timeout, async () =>
            File.Exists(file) && (await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false)).Trim() is { Length: > 0 } text ? text : null, cancellationToken);

    /// <summary>Waits until <paramref name="role"/>'s management listener answers <c>/healthz</c> (asked from the role's host).</summary>
    public static Task WaitHealthyAsync(LaunchedRole role, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        WaitAsync(role, "answer /healthz", timeout, async () =>
            await IsHealthyAsync(role, cancellationToken).ConfigureAwait(false) ? "yes" : null, cancellationToken);

    /// <summary>One <c>/healthz</c> probe of <paramref name="role"/>'s management listener.</summary>
    public static async Task<bool> IsHealthyAsync(LaunchedRole role, CancellationToken cancellationToken = default)
    {
        var probe = await CommandRunner.RunOnAsync(role.Host, ["curl", "-fs", "-o", "/dev/null", "--max-time", "2", role.ManagementUrl + "/healthz"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
        return probe.ExitCode == 0;
    }

    /// <summary>
    /// Polls <paramref name="check"/> every 200 ms until it returns a value. Throws a
    /// <see cref="LaunchException"/> with the role's last log lines when the role exits first or
    /// <paramref name="timeout"/> (<see cref="StartTimeout"/> by default) passes.
    /// </summary>
    public static async Task<T> WaitAsync<T>(LaunchedRole role, string what, TimeSpan? timeout, Func<Task<T?>> check, CancellationToken cancellationToken = default)
        where T : class
    {
        var limit = timeout ?? StartTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (await check().ConfigureAwait(false) is { } value)
            {
                return value;
            }

            if (!role.Running)
            {
                throw new LaunchException($"{role.Name} exited (code {role.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}) before it did {what}; last lines of {role.LogFile}:\n{role.Tail()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new LaunchException($"{role.Name} did not {what} within {limit.TotalSeconds:F0} s; last lines of {role.LogFile}:\n{role.Tail()}", new TimeoutException());
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }
}
