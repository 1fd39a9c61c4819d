using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// Published titles as plain files under <c>{DataDirectory}/published/{title}/…</c>. Publishing
/// renames a fully written staging directory into place (same filesystem), so a title is either
/// absent or complete; a crash mid-publish leaves at most a <c>.replaced-*</c> directory that the
/// next start removes.
/// </summary>
public sealed partial class LocalObjectStore : IObjectStore
{
    private const string ReplacedPrefix = ".replaced-";

    /// <param name="root">The directory of published titles.</param>
    /// <param name="workRoot">The directory of work objects (<see cref="IWorkObjectStore"/>); default <c>work-objects</c> beside <paramref name="root"/>.</param>
    public LocalObjectStore(string root, string? workRoot = null)
    {
        Root = Path.GetFullPath(root);
        WorkRoot = Path.GetFullPath(workRoot ?? Path.Combine(Root, "..", "work-objects"));
        Directory.CreateDirectory(Root);
        foreach (var leftover in Directory.EnumerateDirectories(Root, ReplacedPrefix + "*"))
        {
            Directory.Delete(leftover, recursive: true);
        }
    }

    public string Root { get; }

    public StoredObject? Open(ContentKey key)
    {
        // ContentKey's alphabet excludes separators and "..", so the path cannot leave the root.
        var path = Path.Combine(Root, key.RelativePath);
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
            return new StoredObject(stream, stream.Length, File.GetLastWriteTimeUtc(path));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public ValueTask<StoredObject?> OpenAsync(ContentKey key, CancellationToken cancellationToken) => ValueTask.FromResult(Open(key));

    public ValueTask<bool> IsPublishedAsync(string titleId, CancellationToken cancellationToken) => ValueTask.FromResult(IsPublished(titleId));

    public Task<bool> DeleteAsync(string titleId, CancellationToken cancellationToken) => Task.FromResult(Delete(titleId));

    public bool IsPublished(string titleId) => ContentKey.IsValidTitleId(titleId) && Directory.Exists(Path.Combine(Root, titleId));

    public Task PublishAsync(string titleId, string stagingDirectory, CancellationToken cancellationToken)
    {
        if (!ContentKey.IsValidTitleId(titleId))
        {
            throw new ArgumentException($"'{titleId}' is not a valid title id", nameof(titleId));
        }

        if (!Directory.Exists(stagingDirectory))
        {
            throw new DirectoryNotFoundException($"staging directory '{stagingDirectory}' does not exist");
        }

        var target = Path.Combine(Root, titleId);
        string? replaced = null;
        if (Directory.Exists(target))
        {
            replaced = Path.Combine(Root, ReplacedPrefix + titleId + "-" + Guid.NewGuid().ToString("N"));
            Directory.Move(target, replaced);
        }

        Directory.Move(stagingDirectory, target);
        if (replaced is not null)
        {
            Directory.Delete(replaced, recursive: true);
        }

        return Task.CompletedTask;
    }

    public bool Delete(string titleId)
    {
        if (!IsPublished(titleId))
        {
            return false;
        }

        var doomed = Path.Combine(Root, ReplacedPrefix + titleId + "-" + Guid.NewGuid().ToString("N"));
        Directory.Move(Path.Combine(Root, titleId), doomed);
        Directory.Delete(doomed, recursive: true);
        return true;
    }
}
