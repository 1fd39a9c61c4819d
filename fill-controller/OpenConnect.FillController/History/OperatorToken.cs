using Microsoft.Extensions.Options;

namespace OpenConnect.FillController.History;

/// <summary>
/// The operator bearer token steering's <c>GET /history/plays</c> takes, read at start from
/// <c>FillController:Steering:OperatorTokenFile</c> (mode 0600). None when the setting is empty.
/// </summary>
public sealed class OperatorToken
{
    private const string Key = "FillController:Steering:OperatorTokenFile";

    public OperatorToken(IOptions<FillControllerOptions> options)
    {
        File = options.Value.Steering.OperatorTokenFile;
        if (File.Length == 0)
        {
            return;
        }

        if (!System.IO.File.Exists(File))
        {
            throw new InvalidOperationException($"{Key} '{File}' does not exist (copy steering's {{Steering:DataDirectory}}/fleet/operator.token, mode 0600)");
        }

        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode open = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            if ((System.IO.File.GetUnixFileMode(File) & open) != 0)
            {
                throw new InvalidOperationException($"{Key} '{File}' is readable or writable by group or others; run chmod 600 on it");
            }
        }

        var token = System.IO.File.ReadAllText(File).Trim();
        if (token.Length == 0 || token.Any(char.IsWhiteSpace))
        {
            throw new InvalidOperationException($"{Key} '{File}' must hold one token on one line");
        }

        Value = token;
    }

    /// <summary>The token file, or empty when none is configured.</summary>
    public string File { get; }

    /// <summary>The token, or null when none is configured.</summary>
    public string? Value { get; }
}
