using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Transcode pipeline settings (section <c>Origin:Pipeline</c>).</summary>
public sealed class PipelineOptions
{
    public void Validate(OptionsCheck check)
    {
        _ = check;
    }
}
