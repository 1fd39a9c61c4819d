namespace OpenConnect.Hosting;

/// <summary>
/// The management listener (<c>Management:Url</c>): <c>/healthz</c> and <c>/metrics</c>, and nothing
/// else, on one cleartext HTTP address. Each role's default is loopback (origin 9100, steering 9200,
/// fill controller 9300, appliance 9400), so health and metrics never reach the public data port.
/// </summary>
public sealed class ManagementOptions : IRoleOptions<ManagementOptions>
{
    public static string SectionName => "Management";

    /// <summary>One <c>http://address:port</c>; port 0 picks a free port (tests). Default: the role's loopback address.</summary>
    public string Url { get; set; } = "";

    public void Validate(OptionsCheck check)
    {
        var (urls, problem) = ListenUrls.TryParse(Url);
        check.Require(problem is null, "Url", Url, problem ?? "");
        if (problem is null)
        {
            check.Require(urls.Count == 1, "Url", Url, "exactly one address is required");
            check.Require(urls[0].Scheme == Uri.UriSchemeHttp, "Url", Url, "must be http:// (the management listener is cleartext; keep it on loopback or a management network)");
        }
    }
}
