using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Appliance;

/// <summary>Appliance settings (section <c>Appliance</c>). Defaults run one appliance on a dev box.</summary>
public sealed class ApplianceOptions : IRoleOptions<ApplianceOptions>
{
    public static string SectionName => "Appliance";

    /// <summary>Stable identity reported to steering. Default: the host name.</summary>
    public string Id { get; set; } = Environment.MachineName;

    /// <summary>The ISP site this appliance belongs to. Default <c>local</c>.</summary>
    public string Site { get; set; } = "local";

    /// <summary>Parents tried in order on a cache miss: peer appliances in the site, then the origin.</summary>
    public List<string> Parents { get; set; } = [];

    public CacheOptions Cache { get; set; } = new();

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(Id), "Id", Id, "must not be empty");
        check.Require(!string.IsNullOrWhiteSpace(Site), "Site", Site, "must not be empty");
        for (var i = 0; i < Parents.Count; i++)
        {
            check.RequireAbsoluteHttpUri(Parents[i], $"Parents:{i}");
        }

        Cache.Validate(check);
    }
}

/// <summary>Cache tier sizes and location (section <c>Appliance:Cache</c>).</summary>
public sealed class CacheOptions
{
    /// <summary>Directory holding the SSD tier and its index. Default <c>.openconnect/appliance</c>.</summary>
    public string Directory { get; set; } = Path.Combine(".openconnect", "appliance");

    /// <summary>Bytes of object bodies kept in RAM. Default 256 MiB.</summary>
    public long RamBytes { get; set; } = 256L << 20;

    /// <summary>Bytes of object bodies kept on the SSD tier. Default 10 GiB.</summary>
    public long SsdBytes { get; set; } = 10L << 30;

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(Directory), "Cache:Directory", Directory, "must name a directory");
        check.Require(RamBytes > 0, "Cache:RamBytes", RamBytes, "must be a positive number of bytes");
        check.Require(SsdBytes > 0, "Cache:SsdBytes", SsdBytes, "must be a positive number of bytes");
    }
}
