using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// The origin's fleet credentials (<c>openconnect://origin</c>, from <c>Origin:Fleet</c> files, loaded
/// once into the kit's <see cref="FleetTlsCredentials"/>) and who the fleet parent listener admits:
/// appliances and the fill controller, nobody else.
/// </summary>
public static class OriginFleetCredentials
{
    /// <summary>Who may pull from the fleet parent listener: appliances and the fill controller.</summary>
    public static bool MayPull(FleetIdentity identity) => identity.Role is FleetRole.Appliance or FleetRole.FillController;

    /// <summary>Applies the fleet parent listener's TLS; the credentials are read at the first handshake (the start already validated them).</summary>
    public static void UseOnListener(ListenOptions listen)
    {
        var credentials = new Lazy<FleetTlsCredentials>(() => listen.ApplicationServices.GetRequiredService<FleetTlsCredentials>());
        FleetParentTls.Use(listen, () => credentials.Value, MayPull);
    }

    public static FleetTlsCredentials FromOptions(IOptions<OriginOptions> options, TimeProvider time) => Load(options.Value.Fleet, time);

    /// <summary>
    /// Loads and checks the files: the key owner-only, the certificate for that key, issued by the CA
    /// in <c>CaCertificateFile</c> for server use, valid now, naming <c>openconnect://origin</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">What is wrong, naming the setting and the file.</exception>
    public static FleetTlsCredentials Load(OriginFleetOptions fleet, TimeProvider time) =>
        FleetTlsCredentials.Load(
            new FleetCredentialFiles($"{OriginOptions.SectionName}:Fleet", fleet.CertificateFile, fleet.KeyFile, fleet.CaCertificateFile),
            FleetIdentity.Origin,
            FleetCertificateUse.Server,
            time);
}
