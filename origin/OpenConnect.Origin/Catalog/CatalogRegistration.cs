using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Notifications;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Social;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog;

/// <summary>Wires the catalog (metadata, search, accounts, social features, notifications) into the origin host.</summary>
public static class CatalogRegistration
{
    public const string RateLimitPolicy = "catalog";

    /// <summary>Registration's own, stricter bucket per client address (it replaces the group's on that endpoint).</summary>
    public const string RegistrationRateLimitPolicy = "catalog-registration";

    public static IServiceCollection AddOriginCatalog(this IServiceCollection services)
    {
        services.AddSingleton<CatalogDatabase>();
        services.AddSingleton<TitleCache>();
        services.AddSingleton<NotificationHub>();
        services.AddSingleton<PublishedTitles>();
        services.AddSingleton<ICatalogTitles>(sp => sp.GetRequiredService<PublishedTitles>());
        services.AddSingleton<TitleSearch>();
        services.AddSingleton<AccountMetrics>();
        services.AddSingleton<PasswordHashGate>();
        services.AddSingleton<LoginBackoff>();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<InviteStore>();
        services.AddSingleton<IAccessTokens>(sp => sp.GetRequiredService<AccountStore>());
        services.AddSingleton<ChannelStore>();
        services.AddSingleton<SocialStore>();
        services.AddSingleton<ViewCounter>();
        services.AddHostedService(sp => sp.GetRequiredService<ViewCounter>());
        services.AddHostedService<AdminProvisioning>();
        services.AddHostedService<SearchIndexMaintenance>();
        services.AddHostedService<PostgresCatalogRelay>();
        services.AddOpenApi();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, CatalogJson.Default));
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(RateLimitPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<OriginOptions>>().Value.Catalog;
                var client = context.Connection.RemoteIpAddress ?? IPAddress.None;
                return RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.RateLimitBurst,
                    TokensPerPeriod = options.RateLimitPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.AddPolicy(RegistrationRateLimitPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<OriginOptions>>().Value.Catalog;
                var client = context.Connection.RemoteIpAddress ?? IPAddress.None;
                return RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.RegistrationBurst,
                    TokensPerPeriod = 1,
                    ReplenishmentPeriod = options.RegistrationInterval,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, ct) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
                var response = rejected.HttpContext.Response;
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await response.WriteAsJsonAsync(new ErrorBody($"too many requests from this client; retry after {seconds} s"), ct);
            };
        });
        return services;
    }

    public static WebApplication MapOriginCatalog(this WebApplication app)
    {
        // The cache loads through the store; resolving it here wires that before the first request.
        var titles = app.Services.GetRequiredService<PublishedTitles>();
        app.Services.GetRequiredService<TitleCache>().SetLoader(titles.GetAsync);

        app.UseRateLimiter();
        app.MapOpenApi();
        var api = app.MapGroup("/api/v1").RequireRateLimiting(RateLimitPolicy).WithTags("catalog");
        TitleEndpoints.Map(api);
        CommentEndpoints.Map(api);
        SearchEndpoints.Map(api);
        AccountEndpoints.Map(api);
        AdminEndpoints.Map(api);
        TakedownEndpoints.Map(api);
        NotificationEndpoints.Map(api);
        return app;
    }
}

/// <summary>
/// Creates the built-in admin account at start, or sets its password, when
/// <c>Origin:Catalog:AdminPasswordFile</c> is set; fails the start when the name belongs to an account
/// that is not the admin (see <see cref="AccountStore.ProvisionAdminAsync"/>).
/// </summary>
internal sealed class AdminProvisioning : IHostedService
{
    private readonly AccountStore _accounts;

    public AdminProvisioning(AccountStore accounts) => _accounts = accounts;

    public Task StartAsync(CancellationToken cancellationToken) => _accounts.ProvisionAdminAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
