namespace OpenConnect.Origin.Ingest;

/// <summary>
/// A store could not do what a request needs: its database or object store is unreachable (503,
/// the client retries), or another instance moved the upload's offset (409, the client asks HEAD
/// and resumes). Answered with <see cref="Status"/> and the message, never a stack trace.
/// </summary>
public sealed class UploadStoreException(int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;
}
