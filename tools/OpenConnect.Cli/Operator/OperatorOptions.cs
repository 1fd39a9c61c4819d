using System.CommandLine;
using System.Text.Json;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// The options every operator call takes: the operator certificate, its key, the fleet CA,
/// <c>--json</c> and <c>--timeout</c>; steering's operator calls take <c>--token-file</c> in place of the certificate.
/// </summary>
public sealed class OperatorOptions
{
    public Option<FileInfo> Cert { get; } = new("--cert") { Description = "The operator certificate (PEM) naming openconnect://operator/{name}, issued by the fleet CA (required unless --token-file is given where it is taken)." };

    public Option<FileInfo> TokenFile { get; } = new("--token-file") { Description = "Steering's operator token file (Steering:Fleet:OperatorTokenFile), sent as a bearer token in place of --cert and --key." };

    public Option<FileInfo> Key { get; } = new("--key") { Description = "The operator certificate's private key (PEM, mode 0600)." };

    public Option<FileInfo> Ca { get; } = new("--ca") { Description = "The fleet CA certificate (steering's ca.crt): servers must chain to it; system roots are never trusted.", Required = true };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the answer as JSON (for scripts) instead of a table." };

    public Option<int> TimeoutSeconds { get; } = new("--timeout") { Description = "Seconds one call may take, connecting included (default 15).", DefaultValueFactory = _ => 15 };

    public void AddTo(Command command, bool takesToken = false)
    {
        if (takesToken)
        {
            command.Options.Add(TokenFile);
        }

        command.Options.Add(Cert);
        command.Options.Add(Key);
        command.Options.Add(Ca);
        command.Options.Add(Json);
        command.Options.Add(TimeoutSeconds);
    }

    public OperatorCredentials LoadCredentials(ParseResult parse)
    {
        var (cert, key, ca) = (parse.GetValue(Cert), parse.GetValue(Key), parse.GetValue(Ca)!);
        if (cert is not null && key is not null)
        {
            return OperatorCredentials.Load(cert.FullName, key.FullName, ca.FullName);
        }

        if (cert is null && key is null && parse.GetValue(TokenFile) is not null)
        {
            return OperatorCredentials.AuthorityOnly(ca.FullName);
        }

        throw new CliFailure(ExitCodes.Usage, parse.CommandResult.Command.Options.Contains(TokenFile)
            ? "give --cert and --key (an operator certificate), or --token-file"
            : "--cert and --key (an operator certificate) are required");
    }

    /// <summary>The bearer token from <c>--token-file</c>, or null without one.</summary>
    /// <exception cref="CliFailure">The file is missing, readable by others, or empty.</exception>
    public string? Token(ParseResult parse)
    {
        if (parse.GetValue(TokenFile) is not { } file)
        {
            return null;
        }

        try
        {
            OpenConnect.Hosting.PrivateFile.RequireOwnerOnly(file.FullName);
            var token = File.ReadAllText(file.FullName).Trim();
            return token.Length > 0 ? token : throw new CliFailure(ExitCodes.Usage, $"--token-file '{file}' is empty");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new CliFailure(ExitCodes.Usage, $"--token-file {ex.Message}", ex);
        }
    }

    /// <summary>
    /// One operator call: loads the credentials, sends <paramref name="method"/> <paramref name="path"/>
    /// to the service at <paramref name="url"/> (whose certificate must name an identity
    /// <paramref name="accepts"/> takes) and returns the JSON answer and who answered.
    /// </summary>
    /// <exception cref="CliFailure">Any failure, with its exit code.</exception>
    public async Task<OperatorAnswer> CallAsync(ParseResult parse, Uri url, Func<FleetIdentity, bool> accepts, HttpMethod method, string path, CancellationToken cancellationToken, object? body = null)
    {
        var token = Token(parse);
        using var credentials = LoadCredentials(parse);
        FleetIdentity? server = null;
        using var client = new FleetClient(url, credentials, identity =>
        {
            server = identity;
            return accepts(identity);
        }, Timeout(parse));
        var answer = await client.SendAsync(method, path, cancellationToken, token, body).ConfigureAwait(false);
        return new OperatorAnswer(answer, server?.ToString() ?? "?");
    }

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

/// <summary>A service's JSON answer and the fleet identity its certificate named.</summary>
public sealed record OperatorAnswer(JsonElement Body, string Server);
