namespace OpenConnect.Bench.Throughput;

/// <summary>The external programs the scenario drives, found on PATH (and in the sbin directories, where Debian puts nginx).</summary>
internal sealed record ToolPaths(string Nginx, string Wrk, string Taskset, string? Strace, string? Timeout)
{
    public const string MissingMessage = "needs nginx, wrk and taskset; install the Debian packages: apt-get install -y nginx-light wrk util-linux";

    /// <summary>The tools, or a <see cref="BenchUsageException"/> naming the packages when one is missing.</summary>
    public static ToolPaths Require()
    {
        var nginx = Find("nginx");
        var wrk = Find("wrk");
        var taskset = Find("taskset");
        if (nginx is null || wrk is null || taskset is null)
        {
            var missing = string.Join(", ", new[] { ("nginx", nginx), ("wrk", wrk), ("taskset", taskset) }.Where(t => t.Item2 is null).Select(t => t.Item1));
            throw new BenchUsageException($"{missing} not found; {MissingMessage}");
        }

        return new ToolPaths(nginx, wrk, taskset, Find("strace"), Find("timeout"));
    }

    private static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var directories = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
        return directories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }
}
