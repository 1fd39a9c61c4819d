namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>What an epoll loop hands a registered socket's events to: an accepted socket still waiting for its first bytes, or a connection.</summary>
internal interface IEpollSocket
{
    /// <summary>For the log when handling an event failed.</summary>
    string Name { get; }

    /// <summary>Called on the loop thread with the events epoll reported for this socket.</summary>
    void OnEvents(uint events);

    /// <summary>Handling an event failed: the socket is closed (a connection is aborted).</summary>
    void Fail(Exception error);
}
