using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Storage;

/// <summary>Registers the origin's <see cref="IObjectStore"/> as <c>Origin:Storage:Kind</c> says, checked when the host starts.</summary>
public static class ObjectStoreRegistration
{
    public static IServiceCollection AddOriginObjectStore(this IServiceCollection services)
    {
        services.AddSingleton<IObjectStore>(sp =>
        {
            var origin = sp.GetRequiredService<IOptions<OriginOptions>>().Value;
            return origin.Storage.IsS3
                ? new S3ObjectStore(CreateClient(origin.Storage.S3), origin.Storage.S3, sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<S3ObjectStore>>())
                : new LocalObjectStore(origin.PublishedDirectory);
        });
        services.AddHostedService<ObjectStoreStartup>();
        return services;
    }

    /// <summary>
    /// A client that speaks plain S3 to any compatible endpoint: checksums only where S3 requires
    /// them and no chunked (aws-chunked) bodies, which MinIO, Ceph RGW and emulators do not all
    /// accept; endpoints only from these options, never from the environment.
    /// </summary>
    /// <param name="options">The store's settings.</param>
    /// <param name="httpClientFactory">Test hook: the HTTP clients the SDK sends through; null for its own.</param>
    public static AmazonS3Client CreateClient(S3StoreOptions options, HttpClientFactory? httpClientFactory = null)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            IgnoreConfiguredEndpointUrls = true,
            HttpClientFactory = httpClientFactory,
        };
        if (options.ServiceUrl.Length > 0)
        {
            config.ServiceURL = options.ServiceUrl;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return options.HasStaticCredentials
            ? new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.ReadSecretKey()), config)
            : new AmazonS3Client(config);
    }

    /// <summary>
    /// Stops the start with a clear error when the bucket is missing (unless it may be created) or the
    /// endpoint refuses the origin; then resumes the deletions of replaced versions a previous run left.
    /// </summary>
    private sealed class ObjectStoreStartup(IObjectStore store, IOptions<OriginOptions> options) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (store is S3ObjectStore s3)
            {
                await s3.CheckBucketAsync(options.Value.Storage.S3.CreateBucket, cancellationToken).ConfigureAwait(false);
                await s3.ResumeRetirementsAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
