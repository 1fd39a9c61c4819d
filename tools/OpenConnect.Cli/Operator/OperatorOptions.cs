using System.CommandLine;

namespace OpenConnect.Cli.Operator;

/// <summary>The options every operator call takes: the operator certificate, its key, the fleet CA, <c>--json</c> and <c>--timeout</c>.</summary>
public sealed class OperatorOptions
{
    public Option<FileInfo> Cert { get; } = new("--cert") { Description = "The operator certificate (PEM) naming openconnect://operator/{name}, issued by the fleet CA.", Required = true };

    public Option<FileInfo> Key { get; } = new("--key") { Description = "The operator certificate's private key (PEM, mode 0600).", Required = true };

    public Option<FileInfo> Ca { get; } = new("--ca") { Description = "The fleet CA certificate (steering's ca.crt): servers must chain to it; system roots are never trusted.", Required = true };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the answer as JSON (for scripts) instead of a table." };

    public Option<int> TimeoutSeconds { get; } = new("--timeout") { Description = "Seconds one call may take, connecting included (default 15).", DefaultValueFactory = _ => 15 };

    public void AddTo(Command command)
    {
        command.Options.Add(Cert);
        command.Options.Add(Key);
        command.Options.Add(Ca);
        command.Options.Add(Json);
        command.Options.Add(TimeoutSeconds);
    }

    public OperatorCredentials LoadCredentials(ParseResult parse) =>
        OperatorCredentials.Load(parse.GetValue(Cert)!.FullName, parse.GetValue(Key)!.FullName, parse.GetValue(Ca)!.FullName);

    /// <summary>A service's base address: an absolute https:// URL (fleet listeners take mutual TLS only).</summary>
    public static Uri ServiceUrl(string text, string name) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps && url.AbsolutePath == "/"
            ? url
            : throw new CliFailure(ExitCodes.Usage, $"{name} '{text}' must be an https:// URL with host and port, e.g. https://10.0.0.5:8480: fleet control listeners take mutual TLS only");

    public TimeSpan Timeout(ParseResult parse)
    {
        var seconds = parse.GetValue(TimeoutSeconds);
        return seconds is >= 1 and <= 600
            ? TimeSpan.FromSeconds(seconds)
            : throw new CliFailure(ExitCodes.Usage, $"--timeout {seconds} must be between 1 and 600 seconds");
    }
}
