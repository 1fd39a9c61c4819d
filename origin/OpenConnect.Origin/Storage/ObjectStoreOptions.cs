using OpenConnect.Hosting;

namespace OpenConnect.Origin.Storage;

/// <summary>Where the origin keeps published titles (section <c>Origin:Storage</c>).</summary>
public sealed class ObjectStoreOptions
{
    public const string Local = "Local";
    public const string S3Kind = "S3";

    /// <summary>The section's full key, for messages.</summary>
    public const string SectionKey = "Origin:Storage";

    /// <summary>
    /// <c>Local</c> (default): plain files under <c>{DataDirectory}/published</c>, nothing to install.
    /// <c>S3</c>: an S3-compatible object store (AWS S3, MinIO, Ceph RGW) configured under
    /// <c>Origin:Storage:S3</c>, so several origin instances can serve the same titles.
    /// </summary>
    public string Kind { get; set; } = Local;

    /// <summary>The S3-compatible store used when <see cref="Kind"/> is <c>S3</c> (section <c>Origin:Storage:S3</c>).</summary>
    public S3StoreOptions S3 { get; set; } = new();

    public bool IsS3 => string.Equals(Kind, S3Kind, StringComparison.OrdinalIgnoreCase);

    public void Validate(OptionsCheck check)
    {
        check.Require(IsS3 || string.Equals(Kind, Local, StringComparison.OrdinalIgnoreCase), "Storage:Kind", Kind, "must be 'Local' or 'S3'");
        if (IsS3)
        {
            S3.Validate(check, "Storage:S3:");
        }
    }
}
