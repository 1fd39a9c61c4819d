using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Origin.Ingest;

/// <summary>TUS ingest settings (section <c>Origin:Ingest</c>).</summary>
public sealed class IngestOptions
{
    public void Validate(OptionsCheck check)
    {
        _ = check;
    }
}
