using Microsoft.Extensions.Options;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Accounts;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Who asks for a pipeline title or an upload (<c>/api/titles</c>, <c>/api/uploads/{id}</c>), and
/// what they may see: their own uploads (the uploader recorded from the token at creation), or
/// everything for an admin. While <c>Origin:Ingest:RequireToken</c> is false (anyone may upload),
/// uploads without an uploader are visible to everyone, as they were made anonymously.
/// </summary>
/// <remarks>
/// Without a token (and uploads needing one) the answer is 401; a given token must be valid (401).
/// Another user's title or upload answers 404, exactly like one that does not exist, so ids cannot
/// be probed for existence.
/// </remarks>
internal sealed record PipelineCaller(AccessGrant? Grant, bool OpenIngest)
{
    public bool IsAdmin => Grant is { Role: UserRole.Admin };

    /// <summary>Whether the caller may see a title or upload with this metadata.</summary>
    public bool MaySee(IReadOnlyDictionary<string, string> metadata)
    {
        if (IsAdmin)
        {
            return true;
        }

        var uploader = metadata.GetValueOrDefault(CatalogSync.UploaderKey);
        return uploader is null ? OpenIngest : Grant is not null && string.Equals(uploader, Grant.UserId, StringComparison.Ordinal);
    }

    /// <summary>The caller, or the 401 to answer.</summary>
    public static async Task<(PipelineCaller? Caller, IResult? Error)> FromAsync(HttpContext context)
    {
        var open = !context.RequestServices.GetRequiredService<IOptions<OriginOptions>>().Value.Ingest.RequireToken;
        var token = CatalogAuth.BearerToken(context, allowQuery: false);
        if (string.IsNullOrEmpty(token))
        {
            return open
                ? (new PipelineCaller(null, true), null)
                : (null, ApiErrors.Unauthorized(context, "upload and title status need the uploader's bearer token (Authorization: Bearer <token>, from POST /api/v1/auth/login)"));
        }

        var grant = await context.RequestServices.GetRequiredService<IAccessTokens>().ValidateAsync(token, context.RequestAborted);
        return grant is null
            ? (null, ApiErrors.Unauthorized(context, "the bearer token is unknown or expired"))
            : (new PipelineCaller(grant, open), null);
    }
}
