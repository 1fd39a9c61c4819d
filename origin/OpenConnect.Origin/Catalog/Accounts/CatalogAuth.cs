namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>Bearer-token checks for catalog endpoints: 401 without a valid token, 403 with too small a role.</summary>
internal static class CatalogAuth
{
    public static string? BearerToken(HttpContext context, bool allowQuery)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        // EventSource cannot set headers, so the notification stream also takes ?access_token=.
        return allowQuery && context.Request.Query.TryGetValue("access_token", out var token) ? token.ToString() : null;
    }

    public static async Task<(AccessGrant? Grant, IResult? Error)> RequireAsync(HttpContext context, UserRole minimum, bool allowQuery = false)
    {
        var token = BearerToken(context, allowQuery);
        if (string.IsNullOrEmpty(token))
        {
            return (null, ApiErrors.Unauthorized(context, "a bearer token is required (Authorization: Bearer <token>)"));
        }

        var tokens = context.RequestServices.GetRequiredService<IAccessTokens>();
        var grant = await tokens.ValidateAsync(token, context.RequestAborted);
        if (grant is null)
        {
            return (null, ApiErrors.Unauthorized(context, "the bearer token is unknown or expired"));
        }

        if (!grant.Has(minimum))
        {
            return (null, ApiErrors.Forbidden($"this needs the {UserRoles.ToWire(minimum)} role; the token's user is {UserRoles.ToWire(grant.Role)}"));
        }

        return (grant, null);
    }
}
