using OpenConnect.Hosting;

namespace OpenConnect.Origin.Web;

/// <summary>Web app and QoE settings (section <c>Origin:Web</c>).</summary>
public sealed class WebAppOptions
{
    /// <summary>
    /// The built web app (<c>web/dist</c>, made by <c>npm run build</c> in <c>web/</c>). Empty (the
    /// default) means the <c>web/dist</c> folder of the source tree the origin binary was built in,
    /// found by walking up from the binary to the folder holding <c>OpenConnect.sln</c>.
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>Steering's public URL, where the player asks <c>/play/{titleId}</c>. Default <c>http://127.0.0.1:8200</c>.</summary>
    public string SteeringUrl { get; set; } = "http://127.0.0.1:8200";

    /// <summary>Largest QoE beacon body accepted, in bytes. Default 4096.</summary>
    public int MaxBeaconBytes { get; set; } = 4096;

    /// <summary>Distinct values kept per free-text QoE label (site, appliance); later ones count as <c>other</c>. Default 64.</summary>
    public int MaxLabelValues { get; set; } = 64;

    /// <summary>Recent QoE samples (starts, bitrate points) kept in memory for the QoE page. Default 2000.</summary>
    public int RecentSamples { get; set; } = 2000;

    public void Validate(OptionsCheck check)
    {
        check.RequireAbsoluteHttpUri(SteeringUrl, "Web:SteeringUrl");
        check.Require(MaxBeaconBytes is >= 256 and <= 65536, "Web:MaxBeaconBytes", MaxBeaconBytes, "must be between 256 and 65536");
        check.Require(MaxLabelValues is >= 1 and <= 1000, "Web:MaxLabelValues", MaxLabelValues, "must be between 1 and 1000");
        check.Require(RecentSamples is >= 10 and <= 100_000, "Web:RecentSamples", RecentSamples, "must be between 10 and 100000");
    }

    /// <summary>The directory in force: <see cref="Directory"/>, or <c>web/dist</c> of the source tree.</summary>
    public string EffectiveDirectory()
    {
        if (Directory.Length > 0)
        {
            return Path.GetFullPath(Directory);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OpenConnect.sln")))
            {
                return Path.Combine(dir.FullName, "web", "dist");
            }
        }

        return Path.GetFullPath(Path.Combine("web", "dist"));
    }
}
