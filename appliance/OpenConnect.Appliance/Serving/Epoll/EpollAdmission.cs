namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// The limits a waiting socket (accepted, nothing received yet) counts against before Kestrel sees it:
/// <c>Limits:MaxConnections</c> sockets on the transport at most (waiting ones and connections), and a
/// place in the segment server's per-address count (<c>Limits:MaxConnectionsPerClient</c>), handed back
/// when the socket becomes a connection (the segment server takes it again).
/// </summary>
internal sealed record EpollAdmission(long MaxConnections, ClientConnections PerClient);
