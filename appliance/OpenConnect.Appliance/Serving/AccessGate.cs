using System.Text;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The appliance's content access rule, shared by <see cref="SegmentServer"/> and
/// <see cref="ContentEndpoint"/>: players present <c>/s/{token}/v/…</c> with a token signed by a key
/// in <c>Appliance:PlaybackKeys</c>; unsigned <c>/v/…</c> is for <c>Appliance:UnsignedNetworks</c>
/// (peers and fill) on the data listener, and for appliances' fleet certificates on the parent listener.
/// </summary>
public sealed class AccessGate
{
    private static readonly byte[][] Reasons = [.. Enum.GetValues<TokenCheck>().Select(c => Encoding.ASCII.GetBytes(PlaybackAccess.Reason(c)))];
    private readonly TimeProvider _time;

    public AccessGate(IOptions<ApplianceOptions> options, TimeProvider time)
    {
        _time = time;
        var appliance = options.Value;
        Access = new PlaybackAccess(PublicKeyRing.Parse(appliance.PlaybackKeys), NetworkList.Parse(appliance.UnsignedNetworks));
    }

    public PlaybackAccess Access { get; }

    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>The 403 body for a failed check, preallocated.</summary>
    public static byte[] ReasonBytes(TokenCheck check) => Reasons[(int)check];

    /// <summary>
    /// On the parent listener (<c>Appliance:Upstream:ParentListenerUrl</c>): null when the request may
    /// pull unsigned <c>/v/…</c> (the TLS handshake admitted an appliance's fleet certificate; checked
    /// again here for expiry on a connection left open), else the status and reason. Signed player
    /// paths are not served there: players use the data listener.
    /// </summary>
    public (int Status, string Reason)? RefuseParentPull(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/s", StringComparison.Ordinal))
        {
            return (StatusCodes.Status404NotFound, "signed player paths are served on the data listener, not the parent listener");
        }

        var caller = FleetParentTls.Caller(context, Now, out var problem);
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
