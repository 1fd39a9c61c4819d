namespace OpenConnect.Cli;

/// <summary>The CLI's exit codes: distinct per kind of failure so scripts can tell them apart (listed in <c>--help</c>).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>check-config: the file was read, and the role refuses a setting in it.</summary>
    public const int InvalidConfig = 1;

    /// <summary>A wrong command line or local input: unknown role, missing or unreadable file, unusable operator certificate.</summary>
    public const int Usage = 2;

    /// <summary>The service could not be reached: connection refused, no route, name not resolved, timeout.</summary>
    public const int Unreachable = 3;

    /// <summary>The TLS handshake failed: the server is not the expected fleet identity from the fleet CA, or it refused the operator certificate.</summary>
    public const int HandshakeRefused = 4;

    /// <summary>The service answered 401 or 403: the certificate or token is not allowed to do this.</summary>
    public const int Forbidden = 5;

    /// <summary>The service answered with another error status, or with something that is not the expected JSON.</summary>
    public const int ServiceError = 6;

    public const string Help = """
        Exit codes: 0 ok; 1 configuration invalid (check-config); 2 bad command line or local file
        (unknown role, missing file, unusable operator certificate); 3 service unreachable; 4 TLS handshake
        refused (server not the expected fleet identity, or it refused the operator certificate);
        5 401/403 not allowed; 6 other error answer from the service.
        """;
}

/// <summary>A failure that ends the command with one line on stderr and <see cref="ExitCode"/>.</summary>
public sealed class CliFailure(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
