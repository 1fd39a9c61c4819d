namespace OpenConnect.Origin.Storage;

/// <summary>
/// Work objects (<see cref="IWorkObjectStore"/>) as plain files under <see cref="WorkRoot"/>. The
/// pipeline does not move chunks through them on the local store (its workers share the data
/// directory); they keep the two stores interchangeable behind the interface.
/// </summary>
public sealed partial class LocalObjectStore : IWorkObjectStore
{
    /// <summary>The directory holding work objects.</summary>
    public string WorkRoot { get; }

    // Valid keys have no empty, "." or ".." segments, so the paths stay under WorkRoot.
    private string WorkPath(string key) => Path.Combine(WorkRoot, WorkObjectKey.Check(key));

    async Task<long> IWorkObjectStore.PutFileAsync(string key, string path, CancellationToken cancellationToken)
    {
        var target = WorkPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        return await CopyAsync(path, target, cancellationToken).ConfigureAwait(false);
    }

    async Task<long?> IWorkObjectStore.GetFileAsync(string key, string path, CancellationToken cancellationToken)
    {
        var source = WorkPath(key);
        try
        {
            return await CopyAsync(source, path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    Task<IReadOnlyList<string>> IWorkObjectStore.ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(WorkRoot, WorkObjectKey.CheckPrefix(prefix)[..^1]);
        IReadOnlyList<string> keys = Directory.Exists(directory)
            ? [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(WorkRoot, f).Replace(Path.DirectorySeparatorChar, '/'))
                .Where(WorkObjectKey.IsValid)
                .Order(StringComparer.Ordinal)]
            : [];
        return Task.FromResult(keys);
    }

    Task IWorkObjectStore.DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(WorkRoot, WorkObjectKey.CheckPrefix(prefix)[..^1]);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>Copies through a temporary file renamed into place, so a reader sees the whole file or none.</summary>
    private static async Task<long> CopyAsync(string from, string to, CancellationToken cancellationToken)
    {
        var temp = to + ".copy-" + Guid.NewGuid().ToString("N");
        try
        {
            await using (var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.Asynchronous))
            await using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16, FileOptions.Asynchronous))
            {
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
                target.Flush(flushToDisk: true);
            }

            File.Move(temp, to, overwrite: true);
            return new FileInfo(to).Length;
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
