using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Origin;

/// <summary>Origin settings (section <c>Origin</c>).</summary>
public sealed class OriginOptions : IRoleOptions<OriginOptions>
{
    public static string SectionName => "Origin";

    /// <summary>Directory holding uploads, the SQLite catalog and packaged titles. Default <c>.openconnect/origin</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "origin");

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
    }
}
