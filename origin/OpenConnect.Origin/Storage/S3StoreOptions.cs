using OpenConnect.Hosting;

namespace OpenConnect.Origin.Storage;

/// <summary>An S3-compatible bucket holding published titles (section <c>Origin:Storage:S3</c>).</summary>
public sealed class S3StoreOptions
{
    private const long MiB = 1 << 20;

    /// <summary>
    /// The endpoint, e.g. <c>https://minio.internal:9000</c> or <c>https://s3.eu-west-1.amazonaws.com</c>.
    /// Empty (default) means AWS S3 in <see cref="Region"/>. Plain <c>http://</c> sends objects and
    /// signed requests unencrypted: use it only on loopback or a network you trust.
    /// </summary>
    public string ServiceUrl { get; set; } = "";

    /// <summary>The bucket (3 to 63 characters: lower-case letters, digits, <c>.</c> and <c>-</c>). Required.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>The region requests are signed for. Default <c>us-east-1</c> (what MinIO and Ceph RGW expect unless configured otherwise).</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>
    /// The access key id. Empty (default) together with no secret means the AWS SDK's default
    /// credentials (environment variables, the instance or task role).
    /// </summary>
    public string AccessKey { get; set; } = "";

    /// <summary>
    /// The secret access key. Prefer <see cref="SecretKeyFile"/>, which keeps it out of configuration
    /// files and command lines. Never logged. Default empty.
    /// </summary>
    public string SecretKey { get; set; } = "";

    /// <summary>A file holding the secret access key (surrounding whitespace ignored); an alternative to <see cref="SecretKey"/>. Default empty.</summary>
    public string SecretKeyFile { get; set; } = "";

    /// <summary>
    /// Address the bucket in the path (<c>{ServiceUrl}/{Bucket}/{key}</c>) rather than the host name
    /// (<c>{Bucket}.{host}</c>). Default true: MinIO, Ceph RGW and most private endpoints need it.
    /// </summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>
    /// Key prefix for everything the origin writes, e.g. <c>origin/</c> to share a bucket
    /// (letters, digits, <c>-</c>, <c>_</c>, <c>.</c> and <c>/</c>; a trailing <c>/</c> is added).
    /// Default empty: the bucket root.
    /// </summary>
    public string Prefix { get; set; } = "";

    /// <summary>Create the bucket at start when it does not exist; otherwise a missing bucket stops the start with an error. Default false.</summary>
    public bool CreateBucket { get; set; }

    /// <summary>
    /// How long a title's current version (its pointer object) is cached before it is read again.
    /// Another origin instance's publish is seen within this time; this instance's own publishes and
    /// deletes are seen at once. Default 2 seconds; zero reads the pointer on every request.
    /// </summary>
    public TimeSpan PointerCacheTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a replaced version stays in the bucket after a publish, so readers that resolved it
    /// just before (here or on another instance, within <see cref="PointerCacheTime"/>) finish on the
    /// content they started with. Must be longer than <see cref="PointerCacheTime"/>. Default 1 minute.
    /// </summary>
    public TimeSpan ReplacedRetention { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Files larger than this are uploaded in parts (multipart upload). Default 64 MiB; at least <see cref="PartSizeBytes"/>.</summary>
    public long MultipartThresholdBytes { get; set; } = 64 * MiB;

    /// <summary>Size of each part of a multipart upload. Default 16 MiB; S3 allows 5 MiB to 5 GiB.</summary>
    public long PartSizeBytes { get; set; } = 16 * MiB;

    /// <summary>Files of a package uploaded at once. Default 4.</summary>
    public int UploadConcurrency { get; set; } = 4;

    /// <summary>The prefix as used in keys: empty, or ending in one <c>/</c>.</summary>
    public string KeyPrefix => Prefix.Length == 0 || Prefix.EndsWith('/') ? Prefix : Prefix + "/";

    public bool HasStaticCredentials => AccessKey.Length > 0;

    /// <summary>The secret from <see cref="SecretKey"/> or <see cref="SecretKeyFile"/>.</summary>
    public string ReadSecretKey() => SecretKeyFile.Length > 0 ? File.ReadAllText(SecretKeyFile).Trim() : SecretKey;

    public void Validate(OptionsCheck check, string keyPrefix)
    {
        if (ServiceUrl.Length > 0)
        {
            check.RequireAbsoluteHttpUri(ServiceUrl, keyPrefix + "ServiceUrl");
            check.Require(!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var uri) || (uri.AbsolutePath == "/" && uri.Query.Length == 0), keyPrefix + "ServiceUrl", ServiceUrl,
                "must be the endpoint alone (scheme, host, port), without a path: the bucket is Origin:Storage:S3:Bucket");
        }

        check.Require(IsValidBucketName(Bucket), keyPrefix + "Bucket", Bucket,
            "a bucket name is required: 3 to 63 characters, lower-case letters, digits, '.' and '-', starting and ending with a letter or digit");
        check.Require(Region.Length > 0 && Region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'), keyPrefix + "Region", Region,
            "must name a region, e.g. us-east-1");
        check.Require(IsValidPrefix(Prefix), keyPrefix + "Prefix", Prefix,
            "must be empty or letters, digits, '-', '_', '.' and '/', not starting with '/' and without '//' or '..'");

        var hasSecret = SecretKey.Length > 0 || SecretKeyFile.Length > 0;
        // The secret's value never goes into a message.
        check.Require(!(SecretKey.Length > 0 && SecretKeyFile.Length > 0), keyPrefix + "SecretKey", "(hidden)", "set SecretKey or SecretKeyFile, not both");
        check.Require(HasStaticCredentials == hasSecret, keyPrefix + "AccessKey", AccessKey,
            "AccessKey and a secret (SecretKey or SecretKeyFile) go together; leave all empty for the AWS SDK's default credentials");
        if (SecretKeyFile.Length > 0)
        {
            check.Require(IsReadableNonEmptyFile(SecretKeyFile), keyPrefix + "SecretKeyFile", SecretKeyFile, "must name a readable, non-empty file");
        }

        check.Require(PointerCacheTime >= TimeSpan.Zero && PointerCacheTime <= TimeSpan.FromMinutes(5), keyPrefix + "PointerCacheTime", PointerCacheTime, "must be between 00:00:00 and 00:05:00");
        check.Require(ReplacedRetention > PointerCacheTime && ReplacedRetention <= TimeSpan.FromDays(1), keyPrefix + "ReplacedRetention", ReplacedRetention,
            "must be longer than PointerCacheTime and at most 1.00:00:00");
        check.Require(PartSizeBytes is >= 5 * MiB and <= 5L << 30, keyPrefix + "PartSizeBytes", PartSizeBytes, "must be between 5242880 (5 MiB) and 5368709120 (5 GiB)");
        check.Require(MultipartThresholdBytes >= PartSizeBytes && MultipartThresholdBytes <= 5L << 30, keyPrefix + "MultipartThresholdBytes", MultipartThresholdBytes,
            "must be at least PartSizeBytes and at most 5368709120 (5 GiB, the largest single upload)");
        check.Require(UploadConcurrency is >= 1 and <= 64, keyPrefix + "UploadConcurrency", UploadConcurrency, "must be between 1 and 64");
    }

    /// <summary>The bucket naming rules every S3 implementation accepts.</summary>
    public static bool IsValidBucketName(string name)
    {
        if (name.Length is < 3 or > 63 || !IsLowerOrDigit(name[0]) || !IsLowerOrDigit(name[^1]) || name.Contains("..", StringComparison.Ordinal)
            || System.Net.IPAddress.TryParse(name, out _))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(IsLowerOrDigit(c) || c == '.' || c == '-'))
            {
                return false;
            }
        }

        return true;

        static bool IsLowerOrDigit(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
    }

    private static bool IsValidPrefix(string prefix)
    {
        if (prefix.Length == 0)
        {
            return true;
        }

        if (prefix.Length > 256 || prefix[0] == '/' || prefix.Contains("//", StringComparison.Ordinal) || prefix.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsReadableNonEmptyFile(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim().Length > 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }
}
