using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog.Accounts;

public sealed record RoleRequest(string? Role);

public sealed record CreateInviteRequest(long? ExpiresInSeconds);

/// <summary>
/// The admin's account endpoints: roles (<c>/api/v1/users/{id}/role</c>, <c>/uploader</c>) and invite
/// codes (<c>/api/v1/invites</c>). Every one needs an admin's token; a role change revokes the
/// user's tokens.
/// </summary>
internal static class AdminEndpoints
{
    private const long MinInviteSeconds = 60;
    private const long MaxInviteSeconds = 365L * 24 * 3600;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/users/{userId}/role", async (string userId, HttpContext context, AccountStore accounts) =>
        {
            var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            if (denied is not null)
            {
                return denied;
            }

            var (body, bad) = await RequestJson.ReadAsync<RoleRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (!UserRoles.TryParse(body!.Role, out var role))
            {
                return ApiErrors.BadRequest("role must be viewer, uploader or admin");
            }

            // The built-in admin stays one: demoted, the next start would refuse to provision it.
            if (role != UserRole.Admin && accounts.Get(userId) is { } user && string.Equals(user.Name, AccountStore.AdminName, StringComparison.OrdinalIgnoreCase))
            {
                return ApiErrors.Conflict($"'{user.Name}' is the built-in admin (Origin:Catalog:AdminPasswordFile); its role cannot be changed");
            }

            return await accounts.SetRoleAsync(userId, role, context.RequestAborted) ? Results.Ok(accounts.Get(userId)) : ApiErrors.NotFound($"no user '{userId}'");
        }).Accepts<RoleRequest>("application/json").Produces<UserView>().WithName("SetRole");

        api.MapPut("/users/{userId}/uploader", (string userId, HttpContext context, AccountStore accounts) =>
            SetUploaderAsync(userId, context, accounts, uploader: true)).Produces<UserView>().WithName("GrantUploader");

        api.MapDelete("/users/{userId}/uploader", (string userId, HttpContext context, AccountStore accounts) =>
            SetUploaderAsync(userId, context, accounts, uploader: false)).Produces<UserView>().WithName("RevokeUploader");

        api.MapPost("/invites", async (HttpContext context, InviteStore invites) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            if (denied is not null)
            {
                return denied;
            }

            var lifetime = invites.DefaultLifetime;
            if (context.Request.ContentLength is not 0)
            {
                var (body, bad) = await RequestJson.ReadAsync<CreateInviteRequest>(context.Request, context.RequestAborted);
                if (bad is not null)
                {
                    return bad;
                }

                if (body!.ExpiresInSeconds is { } seconds)
                {
                    if (seconds is < MinInviteSeconds or > MaxInviteSeconds)
                    {
                        return ApiErrors.BadRequest($"expiresInSeconds must be between {MinInviteSeconds} and {MaxInviteSeconds}");
                    }

                    lifetime = TimeSpan.FromSeconds(seconds);
                }
            }

            var invite = await invites.CreateAsync(grant!.UserId, lifetime, context.RequestAborted);
            return Results.Created($"/api/v1/invites/{invite.Id}", invite);
        }).Accepts<CreateInviteRequest>("application/json").Produces<CreatedInvite>(StatusCodes.Status201Created).WithName("CreateInvite");

        api.MapGet("/invites", async (HttpContext context, InviteStore invites, string? limit, string? cursor) =>
        {
            var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            if (denied is not null)
            {
                return denied;
            }

            if (!ApiLimits.TryPageSize(limit, out var size, out var error))
            {
                return error!;
            }

            var before = long.MaxValue;
            if (!string.IsNullOrEmpty(cursor))
            {
                if (!Cursor.TryDecode(cursor, "i", 1, out var values))
                {
                    return ApiErrors.BadRequest("cursor is not a cursor of this list");
                }

                before = values[0];
            }

            return Results.Ok(invites.List(before, size));
        }).Produces<Page<InviteView>>().WithName("ListInvites");

        api.MapDelete("/invites/{inviteId}", async (string inviteId, HttpContext context, InviteStore invites) =>
        {
            var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            if (denied is not null)
            {
                return denied;
            }

            return await invites.RevokeAsync(inviteId, context.RequestAborted) switch
            {
                InviteRevocation.Revoked => Results.NoContent(),
                InviteRevocation.AlreadyUsed => ApiErrors.Conflict($"invite '{inviteId}' was already used"),
                _ => ApiErrors.NotFound($"no invite '{inviteId}'"),
            };
        }).WithName("RevokeInvite");
    }

    private static async Task<IResult> SetUploaderAsync(string userId, HttpContext context, AccountStore accounts, bool uploader)
    {
        var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
        if (denied is not null)
        {
            return denied;
        }

        if (accounts.Get(userId) is not { } user)
        {
            return ApiErrors.NotFound($"no user '{userId}'");
        }

        if (user.Role == UserRoles.ToWire(UserRole.Admin))
        {
            return ApiErrors.Conflict($"user '{user.Name}' is an admin; change an admin's role with PUT /api/v1/users/{userId}/role");
        }

        await accounts.SetRoleAsync(userId, uploader ? UserRole.Uploader : UserRole.Viewer, context.RequestAborted);
        return Results.Ok(accounts.Get(userId));
    }
}
