using OpenConnect.Contracts.Security;

namespace OpenConnect.Hosting;

/// <summary>Validation of the security settings several roles share (playback keys, network lists).</summary>
public static class SecurityOptionChecks
{
    /// <summary>Each entry must be a base64 Ed25519 public key (32 bytes).</summary>
    public static void RequirePlaybackKeys(this OptionsCheck check, IReadOnlyList<string> keys, string key)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            check.Require(PlaybackAccess.IsValidKey(keys[i]), $"{key}:{i}", keys[i], "must be a base64 Ed25519 public key (32 bytes), such as the content of steering-signing.pub");
        }
    }

    /// <summary>Each entry must be a network prefix.</summary>
    public static void RequireNetworkPrefixes(this OptionsCheck check, IReadOnlyList<string> prefixes, string key)
    {
        for (var i = 0; i < prefixes.Count; i++)
        {
            check.Require(NetworkList.IsValidPrefix(prefixes[i]), $"{key}:{i}", prefixes[i], "must be a network prefix such as 10.0.0.0/8 or 2001:db8::/32");
        }
    }
}
