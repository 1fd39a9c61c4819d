using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// Where published titles live, addressed by <see cref="ContentKey"/> (the same object layout the
/// appliances cache: <c>{title}/{file}</c> and <c>{title}/{rendition}/{file}</c>). The local
/// filesystem is the default (<see cref="LocalObjectStore"/>); <see cref="S3ObjectStore"/> keeps
/// them in an S3-compatible bucket. The synchronous members block on I/O for a remote store: request
/// paths use the asynchronous ones.
/// </summary>
public interface IObjectStore
{
    /// <summary>Opens a published object, or returns null when it does not exist.</summary>
    StoredObject? Open(ContentKey key);

    /// <summary>Opens a published object, or returns null when it does not exist.</summary>
    ValueTask<StoredObject?> OpenAsync(ContentKey key, CancellationToken cancellationToken);

    /// <summary>True when the title has been published (its package is complete and servable).</summary>
    bool IsPublished(string titleId);

    /// <summary>True when the title has been published (its package is complete and servable).</summary>
    ValueTask<bool> IsPublishedAsync(string titleId, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a complete package directory the title's published content in one step: readers see
    /// either the previous content or the new one, never a mix. The staging directory is consumed.
    /// </summary>
    Task PublishAsync(string titleId, string stagingDirectory, CancellationToken cancellationToken);

    /// <summary>Removes a title's published content; false when there was none.</summary>
    bool Delete(string titleId);

    /// <summary>Removes a title's published content; false when there was none.</summary>
    Task<bool> DeleteAsync(string titleId, CancellationToken cancellationToken);
}

/// <summary>
/// An open published object. The caller disposes <see cref="Content"/>, which is seekable with a
/// known length (the parent endpoint serves byte ranges by seeking), and reads either the whole
/// object as it was when opened or fails: never part of one version and part of another.
/// </summary>
public sealed record StoredObject(Stream Content, long Length, DateTimeOffset LastModified);
