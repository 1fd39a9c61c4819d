namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>Validates bearer tokens issued at login; ingest uses it to require an uploader token.</summary>
public interface IAccessTokens
{
    /// <summary>The token's holder, or null when the token is unknown, revoked or expired.</summary>
    Task<AccessGrant?> ValidateAsync(string token, CancellationToken ct);

    /// <summary>The user's role now, or null for an unknown user (ingest checks it on every upload write).</summary>
    Task<UserRole?> RoleOfAsync(string userId, CancellationToken ct);
}

/// <summary>Who a token belongs to.</summary>
public sealed record AccessGrant(string UserId, string Name, UserRole Role)
{
    public bool Has(UserRole minimum) => Role >= minimum;
}

/// <summary>Roles, ordered: each includes the rights of the ones before it.</summary>
public enum UserRole
{
    Viewer = 0,
    Uploader = 1,
    Admin = 2,
}

public static class UserRoles
{
    public static string ToWire(UserRole role) => role switch
    {
        UserRole.Uploader => "uploader",
        UserRole.Admin => "admin",
        _ => "viewer",
    };

    public static bool TryParse(string? value, out UserRole role)
    {
        switch (value)
        {
            case "viewer":
                role = UserRole.Viewer;
                return true;
            case "uploader":
                role = UserRole.Uploader;
                return true;
            case "admin":
                role = UserRole.Admin;
                return true;
            default:
                role = UserRole.Viewer;
                return false;
        }
    }
}
