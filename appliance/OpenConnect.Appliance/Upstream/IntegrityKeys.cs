using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// The origin's public keys that manifests must be signed by (<c>Appliance:Upstream:IntegrityKeys</c>),
/// read again on a reload: an origin key rotation is an added key, a reload, then the old key removed.
/// Manifests already judged stay judged until their entry expires; new fetches and fill passes use <see cref="Current"/>.
/// </summary>
public sealed class IntegrityKeys : IReloadable
{
    private readonly IOptionsMonitor<ApplianceOptions> _options;
    private volatile PublicKeyRing _current;

    public IntegrityKeys(IOptionsMonitor<ApplianceOptions> options)
    {
        _options = options;
        _current = PublicKeyRing.Parse(options.CurrentValue.Upstream.IntegrityKeys);
    }

    public string Name => "integrity keys (Appliance:Upstream:IntegrityKeys)";

    public PublicKeyRing Current => _current;

    public bool Reload()
    {
        var next = PublicKeyRing.Parse(_options.CurrentValue.Upstream.IntegrityKeys);
        var changed = !next.Keys.Select(k => k.KeyId).Order(StringComparer.Ordinal).SequenceEqual(_current.Keys.Select(k => k.KeyId).Order(StringComparer.Ordinal));
        _current = next;
        return changed;
    }
}
