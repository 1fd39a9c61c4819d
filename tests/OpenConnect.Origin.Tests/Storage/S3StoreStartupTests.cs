using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>An origin with <c>Origin:Storage:Kind=S3</c> starts only with settings that work: bad values and a missing bucket stop it with a message naming the setting.</summary>
public sealed class S3StoreStartupTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    private static async Task<string> StartFailsAsync(params string[] settings)
    {
        using var dir = new TempDirectory("oc-s3-start");
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var origin = await RunningRole.StartAsync(OriginHost.Build, [$"--Origin:DataDirectory={dir.Path}", .. settings]);
        });
        return error is OptionsValidationException validation ? string.Join('\n', validation.Failures) : error.Message;
    }

    [Fact]
    public async Task BadSettings_AreRefused_EachNamingItsKey_WithoutShowingTheSecret()
    {
        var message = await StartFailsAsync(
            "--Origin:Storage:Kind=S3",
            "--Origin:Storage:S3:ServiceUrl=ftp://storage.example/bucket",
            "--Origin:Storage:S3:Prefix=/root/../escape",
            "--Origin:Storage:S3:AccessKey=AKIDEXAMPLE",
            "--Origin:Storage:S3:SecretKey=very-secret-value",
            "--Origin:Storage:S3:SecretKeyFile=/nonexistent/secret",
            "--Origin:Storage:S3:PartSizeBytes=1024");

        Assert.Contains("Origin:Storage:S3:ServiceUrl = 'ftp://storage.example/bucket' is invalid: must be an absolute http:// or https:// URL", message, StringComparison.Ordinal);
        Assert.Contains("Origin:Storage:S3:Bucket = '' is invalid: a bucket name is required", message, StringComparison.Ordinal);
        Assert.Contains("Origin:Storage:S3:Prefix", message, StringComparison.Ordinal);
        Assert.Contains("Origin:Storage:S3:SecretKey = '(hidden)' is invalid: set SecretKey or SecretKeyFile, not both", message, StringComparison.Ordinal);
        Assert.Contains("Origin:Storage:S3:SecretKeyFile = '/nonexistent/secret' is invalid", message, StringComparison.Ordinal);
        Assert.Contains("Origin:Storage:S3:PartSizeBytes = '1024' is invalid", message, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret-value", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Origin:Storage:Kind=Blob", "Origin:Storage:Kind = 'Blob' is invalid: must be 'Local' or 'S3'")]
    [InlineData("--Origin:Storage:S3:Bucket=Upper_Case", "Origin:Storage:S3:Bucket = 'Upper_Case' is invalid")]
    [InlineData("--Origin:Storage:S3:Bucket=192.168.1.10", "Origin:Storage:S3:Bucket = '192.168.1.10' is invalid")]
    [InlineData("--Origin:Storage:S3:ServiceUrl=http://127.0.0.1:9000/bucket", "without a path: the bucket is Origin:Storage:S3:Bucket")]
    [InlineData("--Origin:Storage:S3:AccessKey=AKIDEXAMPLE", "Origin:Storage:S3:AccessKey = 'AKIDEXAMPLE' is invalid: AccessKey and a secret (SecretKey or SecretKeyFile) go together")]
    [InlineData("--Origin:Storage:S3:ReplacedRetention=00:00:01", "Origin:Storage:S3:ReplacedRetention = '00:00:01' is invalid: must be longer than PointerCacheTime")]
    [InlineData("--Origin:Storage:S3:Colour=blue", "Colour")]
    public async Task OneBadSetting_IsRefused(string setting, string expected)
    {
        var kind = setting.StartsWith("--Origin:Storage:Kind=", StringComparison.Ordinal) ? [] : new[] { "--Origin:Storage:Kind=S3", "--Origin:Storage:S3:Bucket=videos" };
        var message = await StartFailsAsync([.. kind, setting]);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingBucket_StopsTheStart_UnlessCreateBucketIsSet()
    {
        var message = await StartFailsAsync(s3.Server.OriginSettings("not-created-yet"));
        Assert.Equal(
            $"Origin:Storage:S3:Bucket = 'not-created-yet' does not exist at {s3.Server.ServiceUrl}: create it, or set Origin:Storage:S3:CreateBucket=true",
            message);

        using var dir = new TempDirectory("oc-s3-start");
        await using (var origin = await RunningRole.StartAsync(OriginHost.Build, [$"--Origin:DataDirectory={dir.Path}", .. s3.Server.OriginSettings("not-created-yet", "--Origin:Storage:S3:CreateBucket=true")]))
        {
            Assert.IsType<S3ObjectStore>(origin.Services.GetRequiredService<IObjectStore>());
        }

        using var client = ObjectStoreRegistration.CreateClient(s3.Options());
        var listed = await client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = "not-created-yet" });
        Assert.Equal(System.Net.HttpStatusCode.OK, listed.HttpStatusCode);
    }

    [Fact]
    public async Task AnUnknownAccessKey_AndAnEndpointThatIsNotThere_StopTheStart()
    {
        // s3rver checks the access key id, not SigV4 signatures (unimplemented there), so the wrong credential is the key.
        var refused = await StartFailsAsync([.. s3.Server.OriginSettings(S3rverFixture.Bucket), "--Origin:Storage:S3:AccessKey=AKIDWRONG"]);
        Assert.StartsWith($"Origin:Storage:S3: {s3.Server.ServiceUrl} refused to list bucket '{S3rverFixture.Bucket}' (InvalidAccessKeyId", refused, StringComparison.Ordinal);
        Assert.DoesNotContain(S3rver.SecretKey, refused, StringComparison.Ordinal);

        var unreachable = await StartFailsAsync([.. s3.Server.OriginSettings(S3rverFixture.Bucket), "--Origin:Storage:S3:ServiceUrl=http://127.0.0.1:9"]);
        Assert.StartsWith("Origin:Storage:S3:ServiceUrl: http://127.0.0.1:9 could not be reached", unreachable, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDefault_IsTheLocalStore_UnderTheDataDirectory()
    {
        using var dir = new TempDirectory("oc-s3-start");
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        var store = Assert.IsType<LocalObjectStore>(origin.Services.GetRequiredService<IObjectStore>());
        Assert.Equal(Path.Combine(dir.Path, "published"), store.Root);
    }
}
