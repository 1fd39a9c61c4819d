using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// The origin's fleet credentials (<c>openconnect://origin</c>, from <c>Origin:Fleet</c> files, in the
/// kit's <see cref="FleetTlsCredentials"/>) and who the fleet parent listener admits: appliances and
/// the fill controller, nobody else. The files are checked at every handshake, so a renewed
/// certificate and key put in their place are served from the next connection on without a restart;
/// a renewed pair that fails the start's checks is logged and the current certificate stays.
/// </summary>
public static partial class OriginFleetCredentials
{
    /// <summary>Who may pull from the fleet parent listener: appliances and the fill controller.</summary>
    public static bool MayPull(FleetIdentity identity) => identity.Role is FleetRole.Appliance or FleetRole.FillController;

    /// <summary>
    /// Applies the fleet parent listener's TLS; the credentials are read at the first handshake (the
    /// start already validated them) and their files checked for a renewal at every handshake.
    /// </summary>
    public static void UseOnListener(ListenOptions listen)
    {
        var services = listen.ApplicationServices;
        var credentials = new Lazy<FleetTlsCredentials>(services.GetRequiredService<FleetTlsCredentials>);
        var logger = new Lazy<ILogger>(() => services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OriginFleetCredentials).FullName!));
        FleetParentTls.Use(listen, () => Renewed(credentials.Value, logger.Value), () => credentials.Value.Trust, MayPull);
    }

    /// <summary>The certificate to serve: the files' current pair when it changed and passes the checks, else the one in use.</summary>
    private static X509Certificate2? Renewed(FleetTlsCredentials credentials, ILogger logger)
    {
        if (credentials.ReloadIfChanged(out var refused))
        {
            var current = credentials.Current!;
            CertificateReloaded(logger, current.SerialNumber, current.NotAfter.ToUniversalTime());
        }
        else if (refused is not null)
        {
            ReloadRefused(logger, refused, credentials.Current!.SerialNumber);
        }

        return credentials.Current;
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

    [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "Fleet parent listener: serving the renewed fleet certificate {Serial} (valid until {NotAfter:u}) from the next connection on")]
    private static partial void CertificateReloaded(ILogger logger, string serial, DateTime notAfter);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Warning, Message = "Fleet parent listener: the changed certificate files are refused, still serving {Serial}: {Problem}")]
    private static partial void ReloadRefused(ILogger logger, string problem, string serial);
}
