using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The appliance's content access rule, applied by <see cref="SegmentConnection"/> on every listener
/// that serves content (plaintext, HTTPS and the parent listener): players present <c>/s/{token}/v/…</c> with a token signed by a key
/// in <c>Appliance:PlaybackKeys</c>; unsigned <c>/v/…</c> is for <c>Appliance:UnsignedNetworks</c>
/// (peers and fill) on the data listener, and for appliances' fleet certificates on the parent listener.
/// </summary>
/// On a reload <c>Appliance:PlaybackKeys</c> and <c>Appliance:UnsignedNetworks</c> are read again
/// (<see cref="IReloadable"/>): the next request checks against them; the MAC keys steering sent stay.
public sealed class AccessGate : IReloadable
{
    private static readonly byte[][] Reasons = [.. Enum.GetValues<TokenCheck>().Select(c => Encoding.ASCII.GetBytes(PlaybackAccess.Reason(c)))];
    private readonly TimeProvider _time;
    private readonly IOptionsMonitor<ApplianceOptions> _options;
    private volatile PlaybackAccess _access;
    private string _settings;

    public AccessGate(IOptionsMonitor<ApplianceOptions> options, TimeProvider time)
    {
        _time = time;
        _options = options;
        var appliance = options.CurrentValue;
        _access = new PlaybackAccess(PublicKeyRing.Parse(appliance.PlaybackKeys), NetworkList.Parse(appliance.UnsignedNetworks));
        _settings = Settings(appliance);
    }

    public PlaybackAccess Access => _access;

    public string Name => "playback keys (Appliance:PlaybackKeys, Appliance:UnsignedNetworks)";

    public bool Reload()
    {
        var appliance = _options.CurrentValue;
        var settings = Settings(appliance);
        if (settings == _settings)
        {
            return false;
        }

        // The MAC key ring is steering's to fill (Register and Heartbeat replies): the same ring carries over.
        _access = new PlaybackAccess(PublicKeyRing.Parse(appliance.PlaybackKeys), NetworkList.Parse(appliance.UnsignedNetworks), _access.MacKeys);
        _settings = settings;
        return true;
    }

    private static string Settings(ApplianceOptions appliance) =>
        string.Join('\n', appliance.PlaybackKeys) + "\n\n" + string.Join('\n', appliance.UnsignedNetworks);

    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>The 403 body for a failed check, preallocated.</summary>
    public static byte[] ReasonBytes(TokenCheck check) => Reasons[(int)check];

    /// <summary>
    /// On the parent listener (<c>Appliance:Upstream:ParentListenerUrl</c>): null when the request may
    /// pull unsigned <c>/v/…</c> (the TLS handshake admitted an appliance's fleet certificate, the
    /// connection's <paramref name="clientCertificate"/>; checked again here for expiry on a connection
    /// left open), else the status and reason. Signed player paths (<paramref name="signed"/>) are not
    /// served there: players use the data listener.
    /// </summary>
    public (int Status, string Reason)? RefuseParentPull(bool signed, X509Certificate2? clientCertificate)
    {
        if (signed)
        {
            return (StatusCodes.Status404NotFound, "signed player paths are served on the data listener, not the parent listener");
        }

        var caller = FleetParentTls.Caller(clientCertificate, Now, out var problem);
        if (caller is null)
        {
            return (StatusCodes.Status403Forbidden, problem!);
        }

        return Upstream.ParentTls.MayPull(caller) ? null : (StatusCodes.Status403Forbidden, $"{caller} may not pull from an appliance's parent listener");
    }

    /// <summary>Requests that start a session: refused while the appliance is cut off from the control plane.</summary>
    public static bool StartsSession(string contentPath) =>
        contentPath.EndsWith(".m3u8", StringComparison.Ordinal) || contentPath.EndsWith(".mpd", StringComparison.Ordinal);
}
