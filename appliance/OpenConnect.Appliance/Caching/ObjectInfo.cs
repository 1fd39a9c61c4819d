namespace OpenConnect.Appliance.Caching;

/// <summary>
/// What the server knows about a cached object when it answers for it. Built once when the object
/// enters the cache, with the validator and type headers pre-encoded so a hit formats only the
/// per-request parts (status, Date, range, length).
/// </summary>
public sealed class ObjectInfo
{
    public ObjectInfo(string path, long length, string etag, DateTimeOffset lastModified, string contentType, string cacheControl)
    {
        Path = path;
        Length = length;
        ETag = etag;
        LastModified = Http.Validators.TruncateToSeconds(lastModified);
        ContentType = contentType;
        CacheControl = cacheControl;
        StaticHeaders = System.Text.Encoding.ASCII.GetBytes(
            $"ETag: {etag}\r\nLast-Modified: {Http.Validators.FormatHttpDate(LastModified)}\r\nCache-Control: {cacheControl}\r\nAccept-Ranges: bytes\r\n");
        ContentTypeHeader = System.Text.Encoding.ASCII.GetBytes($"Content-Type: {contentType}\r\n");
    }

    /// <summary>The content path (distinguishes objects whose 64-bit keys collide).</summary>
    public string Path { get; }

    public long Length { get; }

    public string ETag { get; }

    public DateTimeOffset LastModified { get; }

    public string ContentType { get; }

    public string CacheControl { get; }

    /// <summary>ETag, Last-Modified, Cache-Control and Accept-Ranges lines.</summary>
    public byte[] StaticHeaders { get; }

    public byte[] ContentTypeHeader { get; }
}
