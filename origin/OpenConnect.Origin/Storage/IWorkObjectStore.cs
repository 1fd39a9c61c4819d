namespace OpenConnect.Origin.Storage;

/// <summary>
/// Scratch objects the pipeline moves between a title's coordinator and transcode workers on other
/// hosts (a title's source, each chunk's encoded outputs), kept apart from published titles under
/// their own prefix and deleted when the title ends. Keys are relative to that prefix:
/// <c>/</c>-separated segments of letters, digits, <c>.</c>, <c>-</c> and <c>_</c> (<see cref="WorkObjectKey"/>).
/// </summary>
public interface IWorkObjectStore
{
    /// <summary>Stores the file at <paramref name="path"/> as <paramref name="key"/>, replacing any object of that key; returns its length.</summary>
    Task<long> PutFileAsync(string key, string path, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the object <paramref name="key"/> to <paramref name="path"/> (through a temporary file,
    /// so the file appears complete or not at all) and returns its length; null when there is no such object.
    /// </summary>
    Task<long?> GetFileAsync(string key, string path, CancellationToken cancellationToken);

    /// <summary>The keys under <paramref name="prefix"/> (a key prefix ending in <c>/</c>), in key order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes every object under <paramref name="prefix"/> (a key prefix ending in <c>/</c>); none is fine.</summary>
    Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken);
}

/// <summary>The rules for <see cref="IWorkObjectStore"/> keys: they can neither leave the work prefix nor its directory.</summary>
public static class WorkObjectKey
{
    /// <summary>True for <c>/</c>-separated segments of <c>[A-Za-z0-9._-]</c>, none empty, <c>.</c> or <c>..</c>.</summary>
    public static bool IsValid(string key) => key.Length is > 0 and <= 512 && key.Split('/').All(IsValidSegment);

    /// <summary>True for a valid key followed by <c>/</c>.</summary>
    public static bool IsValidPrefix(string prefix) => prefix.EndsWith('/') && IsValid(prefix[..^1]);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is valid.</summary>
    public static string Check(string key) =>
        IsValid(key) ? key : throw new ArgumentException($"'{key}' is not a valid work object key", nameof(key));

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="prefix"/> is valid.</summary>
    public static string CheckPrefix(string prefix) =>
        IsValidPrefix(prefix) ? prefix : throw new ArgumentException($"'{prefix}' is not a valid work object prefix (segments ending in '/')", nameof(prefix));

    private static bool IsValidSegment(string segment) =>
        segment.Length > 0 && segment is not "." and not ".." && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');
}
