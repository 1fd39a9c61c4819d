using Microsoft.Win32.SafeHandles;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// How a <see cref="SegmentConnection"/> puts a response on the wire, chosen per connection: on a plain
/// socket <see cref="ZeroCopySender"/> (send(2), sendfile(2) from the object file or RAM memfd), under
/// TLS <see cref="PipeSender"/> (the bytes copied into the connection's output pipe, which Kestrel's
/// TLS layer encrypts). Every method returns false when the client is gone or read slower than the
/// response's <see cref="ResponseDeadline"/>; the connection is then closed.
/// </summary>
internal interface IResponseSender
{
    /// <summary>Sends a response head; <paramref name="more"/> holds it back for the body's first bytes.</summary>
    ValueTask<bool> SendHeadAsync(ReadOnlyMemory<byte> head, bool more, ResponseDeadline deadline);

    /// <summary>Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> (a hit); the handle is shared, never disposed here.</summary>
    ValueTask<bool> SendFileAsync(SafeFileHandle file, long offset, long count, ResponseDeadline deadline);

    /// <summary>Sends bytes from memory (a miss's fetch buffer, cut-through); <paramref name="sent"/> body bytes of this response went out before.</summary>
    ValueTask<bool> SendMemoryAsync(ReadOnlyMemory<byte> body, long sent, ResponseDeadline deadline);

    /// <summary>Releases what the sender registered for the connection (before it is handed to Kestrel or closed).</summary>
    void Unregister();
}
