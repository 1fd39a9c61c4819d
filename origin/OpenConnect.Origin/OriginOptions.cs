using OpenConnect.Contracts.Hosting;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Ingest;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin;

/// <summary>Origin settings (section <c>Origin</c>).</summary>
public sealed class OriginOptions : IRoleOptions<OriginOptions>
{
    public static string SectionName => "Origin";

    /// <summary>Directory holding uploads, the SQLite databases, work files and published titles. Default <c>.openconnect/origin</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "origin");

    /// <summary>
    /// File holding the origin's Ed25519 signing key (base64 seed), created on first start with
    /// owner-only permissions. Empty means <c>{DataDirectory}/keys/origin-signing.key</c>.
    /// </summary>
    public string SigningKeyFile { get; set; } = "";

    public IngestOptions Ingest { get; set; } = new();

    public PipelineOptions Pipeline { get; set; } = new();

    public CatalogOptions Catalog { get; set; } = new();

    public string SigningKeyPath => string.IsNullOrEmpty(SigningKeyFile) ? Path.Combine(DataDirectory, "keys", "origin-signing.key") : SigningKeyFile;

    public string PublishedDirectory => Path.Combine(DataDirectory, "published");

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
        Ingest.Validate(check);
        Pipeline.Validate(check);
        Catalog.Validate(check);
    }
}
