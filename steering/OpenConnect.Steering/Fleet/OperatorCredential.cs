using System.Security.Cryptography;
using System.Text;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// The operator credential: a bearer token read from <c>Steering:Fleet:OperatorTokenFile</c>
/// (created with 32 random bytes, mode 0600, when missing; a start refuses a file group or others
/// can read), or a fleet client certificate naming <c>openconnect://operator/{name}</c>.
/// Tokens are compared as SHA-256 digests in constant time.
/// </summary>
public sealed class OperatorCredential
{
    private readonly byte[] _tokenDigest;

    public OperatorCredential(string tokenFile)
    {
        if (!File.Exists(tokenFile))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(tokenFile))!);
            PrivateFile.Write(tokenFile, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_') + "\n");
        }

        PrivateFile.RequireOwnerOnly(tokenFile);
        var token = File.ReadAllText(tokenFile).Trim();
        if (token.Length < 16)
        {
            throw new InvalidOperationException($"operator token file '{tokenFile}' holds fewer than 16 characters");
        }

        TokenFile = tokenFile;
        _tokenDigest = SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    public string TokenFile { get; }

    /// <summary>
    /// 200 when the request carries the operator token or comes with an operator certificate the
    /// caller's <see cref="FleetCaller"/> vouched for; 401 with no credential, 403 with a wrong one
    /// (a wrong token, or a fleet certificate of another identity without a token).
    /// </summary>
    public int Check(HttpContext context)
    {
        if (FleetCaller.Of(context) is { Role: FleetRole.Operator })
        {
            return StatusCodes.Status200OK;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            // A fleet certificate naming someone else (an appliance, a service) is a wrong credential, not a missing one.
            return FleetCaller.Of(context) is null ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
        }

        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return StatusCodes.Status403Forbidden;
        }

        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(digest, _tokenDigest) ? StatusCodes.Status200OK : StatusCodes.Status403Forbidden;
    }
}
