using OpenConnect.Contracts.Hosting;

namespace OpenConnect.FillController;

/// <summary>FillController settings (section <c>FillController</c>).</summary>
public sealed class FillControllerOptions : IRoleOptions<FillControllerOptions>
{
    public static string SectionName => "FillController";

    /// <summary>Directory holding play history and fill plans. Default <c>.openconnect/fill-controller</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "fill-controller");

    public void Validate(OptionsCheck check)
    {
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
    }
}
