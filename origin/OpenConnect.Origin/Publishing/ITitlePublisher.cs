namespace OpenConnect.Origin.Publishing;

/// <summary>
/// The last two pipeline steps: write the signed integrity manifest for a packaged title, then make
/// the package servable. Both are idempotent.
/// </summary>
public interface ITitlePublisher
{
    /// <summary>
    /// Hashes every file below <paramref name="packageDirectory"/> (names must be valid
    /// <see cref="Contracts.Content.ContentKey"/> parts: <c>{file}</c> or <c>{rendition}/{file}</c>)
    /// and writes <c>integrity.json</c> there, signed with the origin's key.
    /// </summary>
    Task WriteIntegrityManifestAsync(string titleId, string packageDirectory, CancellationToken cancellationToken);

    /// <summary>Moves the package into the object store; the directory is consumed.</summary>
    Task PublishAsync(string titleId, string packageDirectory, CancellationToken cancellationToken);
}
