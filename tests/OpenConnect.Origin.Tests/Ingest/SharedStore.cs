using Amazon.S3.Model;
using OpenConnect.Origin.Storage;
using OpenConnect.Origin.Tests.Storage;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>Settings and look-ups for origins with <c>Origin:Ingest:Store=Shared</c> on one PostgreSQL database and one s3rver prefix.</summary>
public sealed class SharedStore(S3rverFixture s3, TestDatabase database, string prefix)
{
    /// <summary>S3's smallest part: the tests cross part boundaries with a few MiB.</summary>
    public const int PartSize = 5 << 20;

    public string Prefix { get; } = prefix;

    public TestDatabase Database { get; } = database;

    public static async Task<SharedStore> CreateAsync(S3rverFixture s3) =>
        new(s3, await TestDatabase.CreateAsync(), "ingest-" + Guid.NewGuid().ToString("N"));

    /// <summary>The settings of one instance; <paramref name="name"/> becomes its PostgreSQL application name (to find who holds a lock).</summary>
    public string[] Settings(string name = "origin") =>
    [
        .. s3.Server.OriginSettings(S3rverFixture.Bucket, $"--Origin:Storage:S3:Prefix={Prefix}"),
        "--Origin:Pipeline:Database:Provider=PostgreSql",
        $"--Origin:Pipeline:Database:ConnectionString={Database.ConnectionString};Application Name={name}",
        "--Origin:Ingest:Store=Shared",
        $"--Origin:Ingest:SharedPartSizeBytes={PartSize}",
    ];

    /// <summary>Every object under the uploads of this store's prefix.</summary>
    public async Task<List<string>> UploadObjectsAsync()
    {
        using var client = ObjectStoreRegistration.CreateClient(s3.Options(Prefix));
        var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = $"{Prefix}/uploads/" });
        return [.. (listed.S3Objects ?? []).Select(o => o.Key[(Prefix.Length + "/uploads/".Length)..])];
    }

    public async Task<byte[]> ObjectAsync(string keyUnderUploads)
    {
        using var client = ObjectStoreRegistration.CreateClient(s3.Options(Prefix));
        using var response = await client.GetObjectAsync(S3rverFixture.Bucket, $"{Prefix}/uploads/{keyUnderUploads}");
        using var memory = new MemoryStream();
        await response.ResponseStream.CopyToAsync(memory);
        return memory.ToArray();
    }
}
