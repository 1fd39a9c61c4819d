using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// Where published titles live, addressed by <see cref="ContentKey"/> (the same object layout the
/// appliances cache: <c>{title}/{file}</c> and <c>{title}/{rendition}/{file}</c>). The local
/// filesystem is the default; the interface is small so an object store can stand in.
/// </summary>
public interface IObjectStore
{
    /// <summary>Opens a published object, or returns null when it does not exist.</summary>
    StoredObject? Open(ContentKey key);

    /// <summary>True when the title has been published (its package is complete and servable).</summary>
    bool IsPublished(string titleId);

    /// <summary>
    /// Makes a complete package directory the title's published content in one step: readers see
    /// either the previous content or the new one, never a mix. The staging directory is consumed.
    /// </summary>
    Task PublishAsync(string titleId, string stagingDirectory, CancellationToken cancellationToken);

    /// <summary>Removes a title's published content; false when there was none.</summary>
    bool Delete(string titleId);
}

/// <summary>An open published object. The caller disposes <see cref="Content"/>.</summary>
public sealed record StoredObject(Stream Content, long Length, DateTimeOffset LastModified);
