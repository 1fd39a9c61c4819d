using Microsoft.Extensions.Logging.Abstractions;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>One s3rver for a test class, with the bucket <see cref="Bucket"/>; each store gets a prefix of its own.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    public const string Bucket = "origin-tests";

    private readonly List<S3ObjectStore> _stores = [];

    public S3rver Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rver.StartAsync(Bucket);

    /// <summary>Options for a store under a fresh prefix of <see cref="Bucket"/>.</summary>
    public S3StoreOptions Options(string? prefix = null) => new()
    {
        ServiceUrl = Server.ServiceUrl,
        Bucket = Bucket,
        AccessKey = S3rver.AccessKey,
        SecretKeyFile = Server.SecretKeyFile,
        Prefix = prefix ?? "test-" + Guid.NewGuid().ToString("N"),
    };

    /// <summary>A store on <paramref name="options"/> (default: a fresh prefix), disposed with the fixture.</summary>
    public S3ObjectStore Store(S3StoreOptions? options = null, TimeProvider? time = null, Amazon.S3.IAmazonS3? client = null)
    {
        options ??= Options();
        var store = new S3ObjectStore(client ?? ObjectStoreRegistration.CreateClient(options), options, time ?? TimeProvider.System, NullLogger<S3ObjectStore>.Instance);
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        await Server.DisposeAsync();
    }
}
