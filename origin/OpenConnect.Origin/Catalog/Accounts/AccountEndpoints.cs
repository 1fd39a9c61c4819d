using OpenConnect.Origin.Catalog.Social;

namespace OpenConnect.Origin.Catalog.Accounts;

public sealed record RegisterRequest(string? Name, string? Password, string? Role, string? Invite);

public sealed record LoginRequest(string? Name, string? Password);

public sealed record CreateChannelRequest(string? Name, string? Description);

/// <summary>Accounts (<c>/api/v1/auth</c>) and channels with subscriptions; the admin's endpoints are in <see cref="AdminEndpoints"/>.</summary>
internal static class AccountEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/auth/register", async (HttpContext context, AccountStore accounts, InviteStore invites) =>
        {
            var (body, bad) = await RequestJson.ReadAsync<RegisterRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if ((AccountStore.CheckName(body!.Name) ?? AccountStore.CheckPassword(body.Password)) is { } problem)
            {
                return ApiErrors.BadRequest(problem);
            }

            if (ReservedNames.IsReserved(body.Name!))
            {
                return ApiErrors.BadRequest($"the name '{body.Name}' is reserved; choose another");
            }

            // Registering makes a viewer; an admin's invite code makes an uploader. Admins are made by an admin.
            var role = body.Invite is null ? UserRole.Viewer : UserRole.Uploader;
            var asked = role;
            if (body.Role is not null && (!UserRoles.TryParse(body.Role, out asked) || asked == UserRole.Admin))
            {
                return ApiErrors.BadRequest("role must be \"viewer\" or \"uploader\"");
            }

            if (asked == UserRole.Uploader && body.Invite is null)
            {
                return ApiErrors.Forbidden("registering as an uploader needs an invite code from an admin (\"invite\"); register as a viewer and ask an admin for the uploader role or an invite");
            }

            if (asked != role)
            {
                return ApiErrors.BadRequest("an invite code makes an uploader; leave \"role\" out or set it to \"uploader\"");
            }

            if (body.Invite is not null && !invites.IsOpen(body.Invite))
            {
                return ApiErrors.Forbidden(InviteNotOpen);
            }

            var registration = await accounts.RegisterAsync(body.Name!, body.Password!, body.Invite, context.RequestAborted);
            return registration.Status switch
            {
                RegistrationStatus.Created => Results.Created($"/api/v1/users/{registration.User!.Id}", registration.User),
                RegistrationStatus.NameTaken => ApiErrors.Conflict($"the name '{body.Name}' is taken"),
                RegistrationStatus.InviteNotOpen => ApiErrors.Forbidden(InviteNotOpen),
                _ => ApiErrors.RetryLater(context, StatusCodes.Status503ServiceUnavailable, TimeSpan.FromSeconds(1), "the origin is busy checking passwords; retry after {seconds} s"),
            };
        }).Accepts<RegisterRequest>("application/json").Produces<UserView>(StatusCodes.Status201Created).WithName("Register")
            .RequireRateLimiting(CatalogRegistration.RegistrationRateLimitPolicy);

        api.MapPost("/auth/login", async (HttpContext context, AccountStore accounts) =>
        {
            var (body, bad) = await RequestJson.ReadAsync<LoginRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (body!.Name is null || body.Password is null || body.Name.Length > 64 || body.Password.Length > 256)
            {
                return ApiErrors.BadRequest("name and password are required");
            }

            var login = await accounts.LoginAsync(body.Name, body.Password, context.RequestAborted);
            return login.Status switch
            {
                LoginStatus.Ok => Results.Ok(login.Result),
                LoginStatus.BackedOff => ApiErrors.RetryLater(context, StatusCodes.Status429TooManyRequests, login.RetryAfter, "too many failed logins for this name; retry after {seconds} s"),
                LoginStatus.Busy => ApiErrors.RetryLater(context, StatusCodes.Status503ServiceUnavailable, login.RetryAfter, "the origin is busy checking passwords; retry after {seconds} s"),
                _ => ApiErrors.Unauthorized(context, "wrong name or password"),
            };
        }).Accepts<LoginRequest>("application/json").Produces<LoginResult>().WithName("Login");

        api.MapPost("/auth/logout", async (HttpContext context, AccountStore accounts) =>
        {
            var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            await accounts.LogoutAsync(CatalogAuth.BearerToken(context, allowQuery: false)!, context.RequestAborted);
            return Results.NoContent();
        }).WithName("Logout");

        api.MapGet("/auth/me", async (HttpContext context, AccountStore accounts) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            return denied ?? Results.Ok(accounts.Get(grant!.UserId));
        }).Produces<UserView>().WithName("Me");

        api.MapPost("/channels", async (HttpContext context, ChannelStore channels) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Uploader);
            if (denied is not null)
            {
                return denied;
            }

            var (body, bad) = await RequestJson.ReadAsync<CreateChannelRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (ChannelStore.Check(body!.Name, body.Description) is { } problem)
            {
                return ApiErrors.BadRequest(problem);
            }

            var channel = await channels.CreateAsync(grant!.UserId, body.Name!.Trim(), body.Description ?? "", context.RequestAborted);
            return Results.Created($"/api/v1/channels/{channel.Id}", channel);
        }).Accepts<CreateChannelRequest>("application/json").Produces<ChannelView>(StatusCodes.Status201Created).WithName("CreateChannel");

        api.MapGet("/channels/{channelId}", (string channelId, ChannelStore channels) =>
            channels.Get(channelId) is { } channel ? Results.Ok(channel) : ApiErrors.NotFound($"no channel '{channelId}'"))
            .Produces<ChannelView>().WithName("GetChannel");

        api.MapPut("/channels/{channelId}/subscription", (string channelId, HttpContext context, ChannelStore channels) =>
            SetSubscriptionAsync(channelId, context, channels, subscribe: true)).WithName("Subscribe");

        api.MapDelete("/channels/{channelId}/subscription", (string channelId, HttpContext context, ChannelStore channels) =>
            SetSubscriptionAsync(channelId, context, channels, subscribe: false)).WithName("Unsubscribe");

        api.MapGet("/subscriptions", async (HttpContext context, ChannelStore channels) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            return denied ?? Results.Ok(channels.Subscriptions(grant!.UserId));
        }).Produces<List<ChannelView>>().WithName("ListSubscriptions");
    }

    private const string InviteNotOpen = "the invite code is unknown, spent, revoked or expired";

    private static async Task<IResult> SetSubscriptionAsync(string channelId, HttpContext context, ChannelStore channels, bool subscribe)
    {
        var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
        if (denied is not null)
        {
            return denied;
        }

        if (channels.Get(channelId) is null)
        {
            return ApiErrors.NotFound($"no channel '{channelId}'");
        }

        await channels.SetSubscriptionAsync(grant!.UserId, channelId, subscribe, context.RequestAborted);
        return Results.NoContent();
    }
}
