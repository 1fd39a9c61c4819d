namespace OpenConnect.Origin.Catalog;

public sealed record RegisterRequest(string? Name, string? Password, string? Role);

public sealed record LoginRequest(string? Name, string? Password);

public sealed record RoleRequest(string? Role);

public sealed record CreateChannelRequest(string? Name, string? Description);

/// <summary>Accounts (<c>/api/v1/auth</c>, <c>/api/v1/users</c>) and channels with subscriptions.</summary>
internal static class AccountEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/auth/register", async (HttpContext context, AccountStore accounts) =>
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

            // Self-registration yields viewers or uploaders; admins are made by an admin.
            var role = UserRole.Viewer;
            if (body.Role is not null && (!UserRoles.TryParse(body.Role, out role) || role == UserRole.Admin))
            {
                return ApiErrors.BadRequest("role must be \"viewer\" or \"uploader\"");
            }

            var user = await accounts.RegisterAsync(body.Name!, body.Password!, role, context.RequestAborted);
            return user is null ? ApiErrors.Conflict($"the name '{body.Name}' is taken") : Results.Created($"/api/v1/users/{user.Id}", user);
        }).Accepts<RegisterRequest>("application/json").Produces<UserView>(StatusCodes.Status201Created).WithName("Register");

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
            return login is null ? ApiErrors.Unauthorized(context, "wrong name or password") : Results.Ok(login);
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

            return await accounts.SetRoleAsync(userId, role, context.RequestAborted) ? Results.Ok(accounts.Get(userId)) : ApiErrors.NotFound($"no user '{userId}'");
        }).Accepts<RoleRequest>("application/json").Produces<UserView>().WithName("SetRole");

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
