using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenConnect.Testing;
using Xunit.Abstractions;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// The monitoring pack under <c>deploy/monitoring/</c> against the real thing: promtool accepts the
/// scrape configuration and the rules, and a real Prometheus (Debian's <c>prometheus</c> package)
/// scraping a running stack answers every dashboard panel expression and every rule expression with
/// series.
/// </summary>
public sealed partial class MonitoringPackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DataDeadline = TimeSpan.FromSeconds(90);

    public static string PackDirectory => Path.Combine(RepositoryRoot(), "deploy", "monitoring");

    [Fact]
    public async Task Promtool_AcceptsTheScrapeConfig_AndTheRules()
    {
        var config = await PromtoolAsync("check", "config", Path.Combine(PackDirectory, "prometheus.yml"));
        Assert.True(config.ExitCode == 0, config.StandardOutput + config.StandardError);
        // The configuration names both rule files and every job's target file; promtool checked them all.
        Assert.Contains("2 rule files found", config.StandardOutput + config.StandardError);

        var rules = await PromtoolAsync("check", "rules", Path.Combine(PackDirectory, "recording.yml"), Path.Combine(PackDirectory, "alerts.yml"));
        Assert.True(rules.ExitCode == 0, rules.StandardOutput + rules.StandardError);
    }

    [Fact]
    public async Task Promtool_RuleUnitTests_FireEachAlertAtItsThreshold()
    {
        // Synthetic series in, alerts (labels, annotations, `for` durations) out: deploy/monitoring/tests.
        var result = await PromtoolAsync("test", "rules", Path.Combine(PackDirectory, "tests", "alerts.test.yml"));
        Assert.True(result.ExitCode == 0, result.StandardOutput + result.StandardError);
        Assert.Contains("SUCCESS", result.StandardOutput + result.StandardError);
    }

    [Fact]
    public void Dashboard_DrawsEveryAreaTheOperatorAsksFor()
    {
        var titles = DashboardPanels().Select(p => p.Title).ToList();
        // Fleet throughput, hit ratio, offload, upstream failures, 5xx, SSD writes, control-plane contact, fill, pipeline, QoE.
        foreach (var expected in (string[])["Throughput", "hit ratio", "offload", "failure ratio", "5xx", "SSD write budget", "heartbeat", "Fill progress against the window", "pipeline state", "Time to first frame", "Rebuffer"])
        {
            Assert.Contains(titles, t => t.Contains(expected, StringComparison.OrdinalIgnoreCase));
        }

        Assert.All(DashboardPanels(), p => Assert.NotEmpty(p.Expressions));
    }

    [Fact]
    public async Task Prometheus_ScrapingAStack_AnswersEveryDashboardAndRuleExpression_WithSeries()
    {
        await using var stack = await MonitoredStack.StartAsync();
        await stack.PlayAsync();
        Assert.True((await stack.OpenFillAsync()).FilesPlaced > 0, "the fill placed no file: its progress panels would have nothing to draw");
        await stack.SendQoeAsync();

        using var prometheus = await PrometheusServer.StartAsync(stack.ManagementTargets, MonitoredStack.Site);
        await prometheus.WaitForTargetsUpAsync(["appliance", "origin", "steering", "fill-controller"], TimeSpan.FromSeconds(60));
        // Labelled counters appear on their first increment, already at that value, so what happened
        // before the first scrape moves no rate: play and report again while Prometheus watches.
        await stack.PlayAsync();
        await stack.SendQoeAsync();

        var rules = await prometheus.RulesAsync();
        // Prometheus loaded every rule of both files.
        Assert.Equal(CountLines("recording.yml", "- record:") + CountLines("alerts.yml", "- record:"), rules.Count(r => r.Type == "recording"));
        Assert.Equal(CountLines("recording.yml", "- alert:") + CountLines("alerts.yml", "- alert:"), rules.Count(r => r.Type == "alerting"));
        Assert.NotEmpty(rules);

        // What "returns series" means for each kind of expression: at least one series with a finite
        // value (a ratio over no traffic is NaN: its names and matching are right, but it shows
        // nothing), measured on
        // - a panel or a recording rule: the expression itself, as Grafana or the rule evaluates it;
        // - an alert `<measure> <comparison> <threshold>`: the measure. The full expression is empty
        //   while the stack is healthy, which would prove nothing about its metric names, labels or
        //   vector matching; the measure must be there for the alert to be able to fire at all.
        // - an alert `absent(<selector>)`: the selector (absent() is empty exactly when it is there).
        // Every full alert expression must still parse and evaluate (status success).
        var checks = new List<(string What, string Query)>();
        foreach (var panel in DashboardPanels())
        {
            checks.AddRange(panel.Expressions.Select(e => ($"panel '{panel.Title}'", SubstituteGrafanaVariables(e))));
        }

        foreach (var rule in rules)
        {
            checks.Add(rule.Type == "recording" ? ($"recording rule {rule.Name}", rule.Query) : ($"alert {rule.Name} (measure)", AlertMeasure(rule.Name, rule.Query)));
        }

        var empty = await prometheus.WaitForSeriesAsync(checks, DataDeadline);
        Assert.True(empty.Count == 0, "no series for:\n" + string.Join("\n", empty));
        output.WriteLine($"{checks.Count} expressions answered with series");

        foreach (var rule in rules.Where(r => r.Type == "alerting"))
        {
            await prometheus.QueryAsync(rule.Query);
        }

        // The thresholds at work on what the stack did: 0.5 s rebuffering in 10.5 s and one failed
        // start of two are over the QoE limits; steering is scraped. (Whether a role is down at one
        // instant is left out: a scrape that times out on a loaded machine makes `up` 0 for a moment.)
        var byName = rules.Where(r => r.Type == "alerting").ToDictionary(r => r.Name);
        Assert.NotEmpty(await prometheus.QueryAsync(byName["QoeRebufferHigh"].Query));
        Assert.NotEmpty(await prometheus.QueryAsync(byName["QoeStartFailuresHigh"].Query));
        Assert.Empty(await prometheus.QueryAsync(byName["SteeringNotScraped"].Query));

        // The dashboard's site variable lists the site the appliance targets carry.
        Assert.Contains(MonitoredStack.Site, await prometheus.LabelValuesAsync("site"));
    }

    [Fact]
    public async Task Roles_ExportWhatThePackComputesFrom_InBaseUnits_AndNoRatioGauges()
    {
        var started = DateTimeOffset.UtcNow;
        await using var stack = await MonitoredStack.StartAsync();
        await stack.PlayAsync();
        var (_, openUntil) = await stack.OpenFillAsync();
        await stack.SendQoeAsync();

        var appliance = await stack.Appliance.MetricsAsync();
        Assert.True(appliance.IsValid, string.Join("; ", appliance.Errors));
        Assert.DoesNotContain("openconnect_appliance_hit_ratio", appliance.Families.Keys);
        Assert.Equal(16777216, appliance.Value("openconnect_appliance_tier_capacity_bytes", ("tier", "ram")));
        Assert.Equal(134217728, appliance.Value("openconnect_appliance_tier_capacity_bytes", ("tier", "ssd")));
        // Hits and misses both counted by tier: a hit ratio is (ram + ssd) / all, over any window.
        Assert.True(appliance.Value("openconnect_appliance_requests_total", ("tier", "miss")) > 0);
        Assert.True(appliance.Value("openconnect_appliance_requests_total", ("tier", "ram")) + appliance.Value("openconnect_appliance_requests_total", ("tier", "ssd")) > 0);
        var contact = DateTimeOffset.FromUnixTimeMilliseconds((long)(appliance.Value("openconnect_appliance_control_plane_last_contact_timestamp_seconds")! * 1000));
        Assert.InRange(contact, started, DateTimeOffset.UtcNow);
        Assert.Equal(0, appliance.Value("openconnect_appliance_control_plane_lost"));

        var fill = await stack.FillController.MetricsAsync();
        Assert.True(fill.IsValid, string.Join("; ", fill.Errors));
        var site = ("site", MonitoredStack.Site);
        var openedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(fill.Value("openconnect_fill_window_opened_timestamp_seconds", site)! * 1000));
        Assert.InRange(openedAt, started + stack.FillClockShift, DateTimeOffset.UtcNow + stack.FillClockShift);
        Assert.Equal(openUntil.ToUnixTimeMilliseconds() / 1000.0, fill.Value("openconnect_fill_window_open_until_timestamp_seconds", site)!.Value, 3);

        var origin = await stack.Origin.MetricsAsync();
        Assert.True(origin.IsValid, string.Join("; ", origin.Errors));
        // 8,000 kilobits reported: counted in bits.
        Assert.Equal(8_000_000, origin.Value("openconnect_qoe_played_bits_total", site, ("appliance", MonitoredStack.ApplianceId)));
        Assert.DoesNotContain("openconnect_qoe_played_kilobits_total", origin.Families.Keys);
    }

    [Fact]
    public async Task StandaloneAppliance_NeverCountsAsLost_AndHasNoContactTime()
    {
        var appliance = RoleUnderTest.All["appliance"];
        using var state = new TempDirectory("openconnect-standalone");
        await using var running = await RunningRole.StartAsync(appliance.Build, appliance.Settings(state.Path));
        var metrics = await running.MetricsAsync();
        Assert.Equal(0, metrics.Value("openconnect_appliance_control_plane_lost"));
        Assert.Null(metrics.Value("openconnect_appliance_control_plane_last_contact_timestamp_seconds"));
    }

    /// <summary>An alert's expression without its threshold, or the selector inside <c>absent()</c>.</summary>
    internal static string AlertMeasure(string name, string expression)
    {
        var trimmed = expression.Trim();
        if (trimmed.StartsWith("absent(", StringComparison.Ordinal) && trimmed.EndsWith(')'))
        {
            return trimmed["absent(".Length..^1];
        }

        var match = Threshold().Match(trimmed);
        Assert.True(match.Success, $"alert {name} is neither '<measure> <comparison> <number>' nor 'absent(<selector>)': {expression}");
        return match.Groups["measure"].Value;
    }

    [Theory]
    [InlineData("up{job=\"appliance\"} == 0", "up{job=\"appliance\"}")]
    [InlineData("a - on (site) b > 0.25", "a - on (site) b")]
    [InlineData("x:y:ratio_rate5m >= 1e-3", "x:y:ratio_rate5m")]
    [InlineData("absent(up{job=\"origin\"})", "up{job=\"origin\"}")]
    public void AlertMeasure_DropsTheThreshold(string expression, string measure) =>
        Assert.Equal(measure, AlertMeasure("test", expression));

    /// <summary>Grafana's variables as a dashboard with every site selected expands them.</summary>
    internal static string SubstituteGrafanaVariables(string expression)
    {
        var expanded = expression.Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("${site}", ".*", StringComparison.Ordinal).Replace("$site", ".*", StringComparison.Ordinal);
        Assert.DoesNotContain("$", expanded);
        return expanded;
    }

    internal sealed record Panel(string Title, IReadOnlyList<string> Expressions);

    internal static IReadOnlyList<Panel> DashboardPanels()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(PackDirectory, "grafana", "openconnect.json")));
        var panels = new List<Panel>();
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (panel.GetProperty("type").GetString() == "row")
            {
                continue;
            }

            var expressions = panel.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!).ToList();
            panels.Add(new Panel(panel.GetProperty("title").GetString()!, expressions));
        }

        Assert.NotEmpty(panels);
        return panels;
    }

    private static int CountLines(string file, string prefix) =>
        File.ReadLines(Path.Combine(PackDirectory, file)).Count(l => l.TrimStart().StartsWith(prefix, StringComparison.Ordinal));

    private static async Task<ExternalProcess.Result> PromtoolAsync(params string[] arguments)
    {
        RequireCommand("promtool");
        return await ExternalProcess.RunAsync("promtool", arguments, TimeSpan.FromSeconds(60));
    }

    internal static void RequireCommand(string command)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, command)));
        Assert.True(found, $"{command} is not installed: apt-get install prometheus (test.sh installs it)");
    }

    private static string RepositoryRoot() => RepositoryPaths.Root;

    [GeneratedRegex(@"^(?<measure>.+?)\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?-?[0-9][0-9.eE+-]*$", RegexOptions.Singleline)]
    private static partial Regex Threshold();
}

/// <summary>
/// A real Prometheus on a free loopback port with the pack's configuration, rules and file_sd target
/// files: the shipped files copied into a temporary directory, the target files written for the
/// stack under test, and the intervals shortened to seconds. Disposing stops it.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly HttpClient _http;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private PrometheusServer(Process process, TempDirectory directory, Uri address)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public sealed record Rule(string Name, string Type, string Query);

    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string> targets, string applianceSite)
    {
        MonitoringPackTests.RequireCommand("prometheus");
        var directory = new TempDirectory("openconnect-prometheus");
        var config = await File.ReadAllTextAsync(Path.Combine(MonitoringPackTests.PackDirectory, "prometheus.yml"));
        config = ReplaceOnce(config, "scrape_interval: 15s", "scrape_interval: 2s");
        config = ReplaceOnce(config, "scrape_timeout: 10s", "scrape_timeout: 2s");
        config = ReplaceOnce(config, "evaluation_interval: 15s", "evaluation_interval: 1s");
        await File.WriteAllTextAsync(directory.Combine("prometheus.yml"), config);
        File.Copy(Path.Combine(MonitoringPackTests.PackDirectory, "recording.yml"), directory.Combine("recording.yml"));
        File.Copy(Path.Combine(MonitoringPackTests.PackDirectory, "alerts.yml"), directory.Combine("alerts.yml"));
        Directory.CreateDirectory(directory.Combine("targets"));
        foreach (var (job, target) in targets)
        {
            var labels = job == "appliance" ? $"\n  labels:\n    site: {applianceSite}" : "";
            await File.WriteAllTextAsync(directory.Combine("targets", job + ".yml"), $"- targets: [\"{target}\"]{labels}\n");
        }

        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var startInfo = new ProcessStartInfo("prometheus") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory.Path };
            foreach (var argument in (string[])[$"--config.file={directory.Combine("prometheus.yml")}", $"--storage.tsdb.path={directory.Combine("data")}", $"--web.listen-address=127.0.0.1:{port}"])
            {
                startInfo.ArgumentList.Add(argument);
            }

            var server = new PrometheusServer(Process.Start(startInfo)!, directory, new Uri($"http://127.0.0.1:{port}"));
            server._process.OutputDataReceived += (_, e) => server.Keep(e.Data);
            server._process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            if (await server.WaitReadyAsync())
            {
                return server;
            }

            var log = string.Join("\n", server._log);
            server.Stop();
            // A free port is free only until someone binds it: another test may have taken it.
            if (attempt == 3 || !log.Contains("address already in use", StringComparison.Ordinal))
            {
                directory.Dispose();
                throw new InvalidOperationException("prometheus did not become ready:\n" + log);
            }
        }
    }

    private static string ReplaceOnce(string text, string from, string to)
    {
        Assert.True(text.Split(from).Length == 2, $"deploy/monitoring/prometheus.yml should set '{from}' once");
        return text.Replace(from, to, StringComparison.Ordinal);
    }

    private void Keep(string? line)
    {
        if (line is not null && _log.Count < 200)
        {
            _log.Enqueue(line);
        }
    }

    private async Task<bool> WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var response = await _http.GetAsync("/-/ready");
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        return false;
    }

    /// <summary>Waits until every target of <paramref name="jobs"/> was scraped successfully.</summary>
    public async Task WaitForTargetsUpAsync(string[] jobs, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (true)
        {
            using var targets = JsonDocument.Parse(await _http.GetStringAsync("/api/v1/targets?state=active"));
            var active = targets.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray().ToList();
            last = string.Join("; ", active.Select(t => $"{t.GetProperty("labels").GetProperty("job").GetString()}={t.GetProperty("health").GetString()} {t.GetProperty("lastError").GetString()}"));
            if (jobs.All(job => active.Any(t => t.GetProperty("labels").GetProperty("job").GetString() == job && t.GetProperty("health").GetString() == "up")))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"targets not all up within {timeout}: {last}");
            await Task.Delay(250);
        }
    }

    /// <summary>The rules Prometheus loaded, as it reports them.</summary>
    public async Task<List<Rule>> RulesAsync()
    {
        using var rules = JsonDocument.Parse(await _http.GetStringAsync("/api/v1/rules"));
        return rules.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Select(r => new Rule(r.GetProperty("name").GetString()!, r.GetProperty("type").GetString()!, r.GetProperty("query").GetString()!))
            .ToList();
    }

    /// <summary>Evaluates <paramref name="query"/> now; fails the test unless Prometheus accepts it. Returns the series.</summary>
    public async Task<List<JsonElement>> QueryAsync(string query)
    {
        using var response = await _http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        Assert.True(document.RootElement.GetProperty("status").GetString() == "success", $"{query}: {body}");
        var data = document.RootElement.GetProperty("data");
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        return data.GetProperty("result").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>
    /// Polls the checks until each returned a series with a finite value once (rates need two scrapes
    /// in their window, recording rules an evaluation after that) or the deadline passes; returns
    /// those that never did.
    /// </summary>
    public async Task<List<string>> WaitForSeriesAsync(IReadOnlyList<(string What, string Query)> checks, TimeSpan timeout)
    {
        var pending = checks.ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var still = new List<(string What, string Query)>();
            foreach (var check in pending)
            {
                if (!(await QueryAsync(check.Query)).Any(HasFiniteValue))
                {
                    still.Add(check);
                }
            }

            pending = still;
            if (pending.Count == 0 || DateTime.UtcNow > deadline)
            {
                return pending.Select(c => $"{c.What}: {c.Query}").ToList();
            }

            await Task.Delay(1000);
        }
    }

    private static bool HasFiniteValue(JsonElement series) =>
        double.TryParse(series.GetProperty("value")[1].GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);

    public async Task<List<string>> LabelValuesAsync(string label)
    {
        using var values = JsonDocument.Parse(await _http.GetStringAsync($"/api/v1/label/{label}/values"));
        return values.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToList();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Stop()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        _http.Dispose();
    }

    public void Dispose()
    {
        Stop();
        _directory.Dispose();
    }
}
