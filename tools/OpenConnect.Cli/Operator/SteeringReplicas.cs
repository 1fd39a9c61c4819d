using System.CommandLine;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting.Discovery;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// Steering's operator calls against every replica (<c>--steering</c> given once per instance, or an
/// SRV name whose targets are the replicas). Replicas keep no shared store, so a change (add, remove)
/// goes to each of them and each answers for itself; a read goes to the first that can be reached
/// (the next one only when one is unreachable: an answer, even an error, is the fleet's answer).
/// </summary>
public static class SteeringReplicas
{
    private static readonly TimeSpan DnsTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The repeatable <c>--steering</c> option and <c>--dns-server</c>, added to <paramref name="command"/>.</summary>
    public static SteeringReplicaOptions AddTo(Command command, string description)
    {
        var options = new SteeringReplicaOptions(
            new Option<string[]>("--steering")
            {
                Description = description + " Give it once per steering replica, or give a DNS SRV name (e.g. _openconnect-enroll._tcp.isp.example) whose targets are the replicas: changes go to every one, reads to the first that answers.",
                Required = true,
                AllowMultipleArgumentsPerToken = false,
            },
            new Option<string?>("--dns-server") { Description = "The DNS server (address:port) an SRV name in --steering is resolved with. Default: the system's resolvers." });
        command.Options.Add(options.Steering);
        command.Options.Add(options.DnsServer);
        return options;
    }

    /// <summary>
    /// The enrollment listeners given, in order, each checked (https://, no path) and named once; an
    /// SRV name stands for each of its targets (lowest priority first, as appliances order them).
    /// </summary>
    /// <exception cref="CliFailure">One is neither an https:// URL nor an SRV name, or an SRV name has no targets.</exception>
    public static async Task<IReadOnlyList<Uri>> UrlsAsync(ParseResult parse, SteeringReplicaOptions options, CancellationToken cancellationToken)
    {
        var dnsServer = parse.GetValue(options.DnsServer) ?? "";
        if (dnsServer.Length > 0 && !SrvLocator.TryParseServer(dnsServer, out _))
        {
            throw new CliFailure(ExitCodes.Usage, $"--dns-server '{dnsServer}' must be address:port with a numeric address, e.g. 127.0.0.1:53");
        }

        var urls = new List<Uri>();
        foreach (var text in parse.GetValue(options.Steering) ?? [])
        {
            foreach (var url in IsSrvName(text) ? await ResolveAsync(text, dnsServer, cancellationToken).ConfigureAwait(false) : [OperatorOptions.ServiceUrl(text, "--steering")])
            {
                if (!urls.Contains(url))
                {
                    urls.Add(url);
                }
            }
        }

        return urls.Count > 0 ? urls : throw new CliFailure(ExitCodes.Usage, "--steering is required");
    }

    private static bool IsSrvName(string text) => text.StartsWith('_') && !text.Contains("://", StringComparison.Ordinal) && !text.Contains(' ', StringComparison.Ordinal);

    private static async Task<IReadOnlyList<Uri>> ResolveAsync(string srvName, string dnsServer, CancellationToken cancellationToken)
    {
        // The fallback only gives the targets their scheme (fleet listeners are https); without targets
        // the name is an error here, so it is never used as a URL.
        var (urls, fromSrv) = await new SrvLocator(srvName, dnsServer, fallbackUrl: "https://unused.invalid/", DnsTimeout).ResolveAllAsync(cancellationToken).ConfigureAwait(false);
        return fromSrv
            ? urls
            : throw new CliFailure(ExitCodes.Unreachable, $"--steering {srvName}: the SRV name has no targets{(dnsServer.Length > 0 ? $" at {dnsServer}" : "")} (or the DNS server did not answer)");
    }

    /// <summary>A read from the first replica that can be reached.</summary>
    /// <exception cref="CliFailure">No replica could be reached (the first one's failure, naming the others), or the one reached answered with an error.</exception>
    public static async Task<OperatorAnswer> ReadAsync(OperatorOptions shared, ParseResult parse, IReadOnlyList<Uri> urls, string path, CancellationToken cancellationToken)
    {
        var unreachable = new List<CliFailure>();
        foreach (var url in urls)
        {
            try
            {
                return await shared.CallAsync(parse, url, IsSteering, HttpMethod.Get, path, cancellationToken).ConfigureAwait(false);
            }
            catch (CliFailure failure) when (failure.ExitCode == ExitCodes.Unreachable)
            {
                unreachable.Add(failure);
            }
        }

        throw unreachable.Count == 1
            ? unreachable[0]
            : new CliFailure(ExitCodes.Unreachable, "no steering replica could be reached: " + string.Join("; ", unreachable.Select(f => f.Message)), unreachable[0]);
    }

    /// <summary>
    /// One change sent to every replica in turn; each one's answer or failure. <paramref name="body"/>
    /// gives the body for a replica from the answers before it (null: none).
    /// </summary>
    public static async Task<IReadOnlyList<ReplicaResult>> WriteAsync(OperatorOptions shared, ParseResult parse, IReadOnlyList<Uri> urls, HttpMethod method, string path, Func<IReadOnlyList<ReplicaResult>, object?> body, CancellationToken cancellationToken)
    {
        var results = new List<ReplicaResult>();
        foreach (var url in urls)
        {
            try
            {
                var answer = await shared.CallAsync(parse, url, IsSteering, method, path, cancellationToken, body(results)).ConfigureAwait(false);
                results.Add(new ReplicaResult(url, answer.Body, null));
            }
            catch (CliFailure failure)
            {
                results.Add(new ReplicaResult(url, null, failure));
            }
        }

        return results;
    }

    /// <summary>
    /// What a change sent to several replicas prints: <paramref name="summary"/>, then one row per
    /// replica (<paramref name="describe"/> for those that answered); exit code 0 when every replica
    /// answered, else the first failure's (each failure also goes to stderr). The JSON form is
    /// <c>{"result": head, "replicas": [{steering, ok, answer, error, exitCode}]}</c>. With one
    /// replica: its answer as before, or its failure.
    /// </summary>
    /// <exception cref="CliFailure">The one replica given failed.</exception>
    public static CliResult Report(IReadOnlyList<ReplicaResult> results, object head, string summary, Func<JsonElement, string> describe, TextWriter error)
    {
        if (results is [var only])
        {
            return only.Failure is { } failure ? throw failure : new CliResult(only.Answer!.Value, summary);
        }

        var rows = results.Select(r => (IReadOnlyList<string>)[r.Steering.ToString(), r.Answer is { } answer ? describe(answer) : "failed: " + r.Failure!.Message]).ToList();
        var data = results.Select(r => new
        {
            steering = r.Steering.ToString(),
            ok = r.Failure is null,
            answer = r.Answer,
            error = r.Failure?.Message,
            exitCode = r.Failure?.ExitCode ?? ExitCodes.Ok,
        }).ToList();
        var failed = results.Where(r => r.Failure is not null).ToList();
        foreach (var failure in failed)
        {
            error.WriteLine($"openconnect: {failure.Steering}: {failure.Failure!.Message}");
        }

        return new CliResult(new { result = head, replicas = data }, summary + "\n" + CliOutput.Table(["STEERING", "RESULT"], rows), failed.Count == 0 ? ExitCodes.Ok : failed[0].Failure!.ExitCode);
    }

    private static bool IsSteering(FleetIdentity identity) => identity == FleetIdentity.Steering;
}

/// <summary>The <c>--steering</c> and <c>--dns-server</c> options of one command.</summary>
public sealed record SteeringReplicaOptions(Option<string[]> Steering, Option<string?> DnsServer);

/// <summary>One steering replica's answer to a change, or why it failed.</summary>
public sealed record ReplicaResult(Uri Steering, JsonElement? Answer, CliFailure? Failure);
