using System.Text;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The appliance's content access rule, shared by <see cref="SegmentServer"/> and
/// <see cref="ContentEndpoint"/>: players present <c>/s/{token}/v/…</c> with a token signed by a key
/// in <c>Appliance:PlaybackKeys</c>; unsigned <c>/v/…</c> is for <c>Appliance:UnsignedNetworks</c>
/// (peers and fill) only.
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

    /// <summary>Requests that start a session: refused while the appliance is cut off from the control plane.</summary>
    public static bool StartsSession(string contentPath) =>
        contentPath.EndsWith(".m3u8", StringComparison.Ordinal) || contentPath.EndsWith(".mpd", StringComparison.Ordinal);
}
