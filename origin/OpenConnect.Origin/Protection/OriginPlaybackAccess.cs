using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Protection;

/// <summary>
/// The origin's one verifier of playback tokens (the parent and license endpoints), rebuilt on a
/// reload from <c>Origin:PlaybackKeys</c>, <c>Origin:ParentNetworks</c> and the key in
/// <c>Origin:PlaybackMacKeyFile</c>, read again from disk. A new MAC key becomes current and the
/// previous one keeps verifying, so tokens issued just before steering's rotation stay good.
/// Requests read <see cref="Current"/> each time: the next request after a reload sees the new keys.
/// </summary>
public sealed class OriginPlaybackAccess : IReloadable
{
    private readonly IOptionsMonitor<OriginOptions> _options;
    private volatile PlaybackAccess _current;

    public OriginPlaybackAccess(IOptionsMonitor<OriginOptions> options)
    {
        _options = options;
        _current = Build(options.CurrentValue, previous: null);
    }

    public string Name => "playback keys (Origin:PlaybackKeys, Origin:PlaybackMacKeyFile, Origin:ParentNetworks)";

    public PlaybackAccess Current => _current;

    public bool Reload()
    {
        var previous = _current;
        var next = Build(_options.CurrentValue, previous);
        _current = next;
        return !SameKeys(previous, next);
    }

    private static PlaybackAccess Build(OriginOptions options, PlaybackAccess? previous)
    {
        PlaybackMacKeyRing macKeys;
        if (options.PlaybackMacKeyFile.Length == 0)
        {
            macKeys = new PlaybackMacKeyRing();
        }
        else
        {
            PlaybackMacKey key;
            try
            {
                key = PlaybackMacKey.Load(options.PlaybackMacKeyFile);
            }
            catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"{OriginOptions.SectionName}:PlaybackMacKeyFile: {ex.Message}", ex);
            }

            // The ring before the reload keeps its current key as the previous one.
            macKeys = previous is null ? new PlaybackMacKeyRing(key) : new PlaybackMacKeyRing([.. previous.MacKeys.Keys]);
            macKeys.Install(key);
        }

        return new PlaybackAccess(PublicKeyRing.Parse(options.PlaybackKeys), NetworkList.Parse(options.EffectiveParentNetworks), macKeys);
    }

    private static bool SameKeys(PlaybackAccess a, PlaybackAccess b)
    {
        if (!a.Keys.Keys.Select(k => k.KeyId).Order(StringComparer.Ordinal).SequenceEqual(b.Keys.Keys.Select(k => k.KeyId).Order(StringComparer.Ordinal))
            || a.MacKeys.Keys.Count != b.MacKeys.Keys.Count)
        {
            return false;
        }

        for (var i = 0; i < a.MacKeys.Keys.Count; i++)
        {
            if (!a.MacKeys.Keys[i].Bytes.SequenceEqual(b.MacKeys.Keys[i].Bytes))
            {
                return false;
            }
        }

        return true;
    }
}
