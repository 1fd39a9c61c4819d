using Microsoft.Extensions.Options;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// Start-time check of the settings that put parent pulls on fleet TLS: an <c>https://</c> parent
/// and the parent listener both need the appliance's fleet identity (<c>Appliance:Fleet:CaCertificateFile</c>);
/// without it the appliance would have no certificate to present, so it refuses to start and names the setting.
/// </summary>
public sealed class ParentTlsSettings : IValidateOptions<ApplianceOptions>
{
    public ValidateOptionsResult Validate(string? name, ApplianceOptions options)
    {
        var check = new OptionsCheck(ApplianceOptions.SectionName);
        var hasIdentity = options.Fleet.CaCertificateFile.Length > 0;
        for (var i = 0; i < options.Parents.Count; i++)
        {
            var https = Uri.TryCreate(options.Parents[i], UriKind.Absolute, out var parent) && parent.Scheme == Uri.UriSchemeHttps;
            check.Require(!https || hasIdentity, $"Parents:{i}", options.Parents[i], "an https:// parent is pulled with the appliance's fleet certificate: set Appliance:Fleet:CaCertificateFile (the appliance enrolls or loads its certificate), or give an http:// parent");
        }

        var listener = options.Upstream.ParentListenerUrl;
        check.Require(listener.Length == 0 || hasIdentity, "Upstream:ParentListenerUrl", listener, "the parent listener serves with the appliance's fleet certificate and admits fleet client certificates: set Appliance:Fleet:CaCertificateFile");
        return check.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(check.Errors);
    }
}
