using System.Security.Cryptography;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Publishing;

/// <summary>Signs a packaged title's integrity manifest and publishes the package into the object store.</summary>
public sealed class TitlePublisher(IObjectStore store, Ed25519SigningKey signingKey) : ITitlePublisher
{
    public async Task WriteIntegrityManifestAsync(string titleId, string packageDirectory, CancellationToken cancellationToken)
    {
        var manifest = await BuildManifestAsync(titleId, packageDirectory, signingKey, cancellationToken).ConfigureAwait(false);
        var path = Path.Combine(packageDirectory, IntegrityManifest.FileName);
        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await stream.WriteAsync(manifest.ToJsonBytes(), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public Task PublishAsync(string titleId, string packageDirectory, CancellationToken cancellationToken) =>
        store.PublishAsync(titleId, packageDirectory, cancellationToken);

    /// <summary>
    /// Hashes every file of a package (title-level files and one level of rendition folders) and
    /// signs the result. Names that are not valid content keys are refused: they could never be served.
    /// </summary>
    public static async Task<IntegrityManifest> BuildManifestAsync(string titleId, string packageDirectory, Ed25519SigningKey key, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(packageDirectory);
        var files = new Dictionary<string, IntegrityEntry>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (relative == IntegrityManifest.FileName || relative.EndsWith(".tmp", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = relative.Split('/');
            var valid = parts.Length switch
            {
                1 => ContentKey.IsValidFileName(parts[0]),
                2 => ContentKey.IsValidRendition(parts[0]) && ContentKey.IsValidFileName(parts[1]),
                _ => false,
            };
            if (!valid)
            {
                throw new InvalidDataException($"package file '{relative}' of title {titleId} is not a servable content path");
            }

            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var digest = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
            files[relative] = new IntegrityEntry(stream.Length, Convert.ToHexStringLower(digest));
        }

        return IntegrityManifest.Create(titleId, files, key);
    }
}
