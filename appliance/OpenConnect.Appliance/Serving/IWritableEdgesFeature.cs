namespace OpenConnect.Appliance.Serving;

/// <summary>
/// A connection feature of a transport that already watches its socket's writability (the epoll
/// transport registers every socket edge-triggered for writable too): <see cref="ZeroCopySender"/>
/// waits there instead of on <see cref="WriteReadiness"/>, with no epoll_ctl per wait, and the response
/// goes on on the connection's own loop thread. One waiter at a time per connection.
/// </summary>
internal interface IWritableEdgesFeature
{
    /// <summary>Writable edges seen so far: read before a send, so an edge between its EAGAIN and the wait is not lost.</summary>
    int WritableEdges { get; }

    /// <summary>Completes at the first writable edge after <paramref name="edges"/> (at once if one came already), or when the connection is shut.</summary>
    Task WaitWritableAsync(int edges);
}
