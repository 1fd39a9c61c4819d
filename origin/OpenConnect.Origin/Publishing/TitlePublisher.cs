using OpenConnect.Contracts.Security;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Publishing;

/// <summary>Signs a packaged title's integrity manifest and publishes the package into the object store.</summary>
public sealed class TitlePublisher(IObjectStore store, Ed25519SigningKey signingKey) : ITitlePublisher
{
    public Task WriteIntegrityManifestAsync(string titleId, string packageDirectory, CancellationToken cancellationToken)
    {
        _ = signingKey;
        throw new NotSupportedException("integrity manifest signing is being added");
    }

    public Task PublishAsync(string titleId, string packageDirectory, CancellationToken cancellationToken) =>
        store.PublishAsync(titleId, packageDirectory, cancellationToken);
}
