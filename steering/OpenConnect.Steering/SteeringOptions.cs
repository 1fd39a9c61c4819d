using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Steering;

/// <summary>Steering settings (section <c>Steering</c>).</summary>
public sealed class SteeringOptions : IRoleOptions<SteeringOptions>
{
    public static string SectionName => "Steering";

    /// <summary>Directory holding prefix tables and signing keys. Default <c>.openconnect/steering</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "steering");

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
    }
}
