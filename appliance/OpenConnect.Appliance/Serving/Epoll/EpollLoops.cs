using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// The epoll transport's threads: one per core, each with its own epoll instance, nginx's shape. A
/// connection is registered once (edge-triggered, readable, writable and peer-closed) on the loop its
/// descriptor falls to and stays there: the loop thread that sees it readable receives into its input
/// pipe, and the reader (the request loop) runs inline on that thread. Events carry a registration
/// number, not the descriptor, so a descriptor closed and reused meanwhile is never mistaken for the
/// old connection.
/// </summary>
internal sealed unsafe class EpollLoops : EpollThreads
{
    private readonly ConcurrentDictionary<ulong, EpollConnection>[] _connections;
    private readonly ILogger _logger;
    private long _nextId;

    public EpollLoops(int threads, ILogger logger)
        : base(threads, "openconnect-epoll")
    {
        _logger = logger;
        _connections = new ConcurrentDictionary<ulong, EpollConnection>[threads];
        for (var i = 0; i < threads; i++)
        {
            _connections[i] = new ConcurrentDictionary<ulong, EpollConnection>();
        }

        Start();
    }

    /// <summary>Connections registered and not yet removed.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var map in _connections)
            {
                count += map.Count;
            }

            return count;
        }
    }

    /// <summary>Adds <paramref name="connection"/> to its descriptor's loop; its events start arriving at once.</summary>
    public ulong Register(EpollConnection connection, int fd)
    {
        var id = (ulong)Interlocked.Increment(ref _nextId);
        var loop = LoopOf(fd);
        _connections[loop][id] = connection;
        var ev = new Native.EpollEvent { Events = Native.EPOLLIN | Native.EPOLLOUT | Native.EPOLLRDHUP | Native.EPOLLET, Data = id };
        if (Native.EpollCtl(EpollOf(fd), Native.EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _connections[loop].TryRemove(id, out _);
            throw new IOException($"epoll_ctl(ADD) failed: errno {errno}");
        }

        return id;
    }

    /// <summary>Removes a connection; must run before its descriptor is closed. Events already taken may still be delivered (the connection ignores them).</summary>
    public void Unregister(ulong id, int fd)
    {
        if (_connections[LoopOf(fd)].TryRemove(id, out _))
        {
            Native.EpollCtl(EpollOf(fd), Native.EPOLL_CTL_DEL, fd, null);
        }
    }

    protected override void OnEvent(int loop, in Native.EpollEvent ev)
    {
        if (!_connections[loop].TryGetValue(ev.Data, out var connection))
        {
            return;
        }

        try
        {
            connection.OnEvents(ev.Events);
        }
        catch (Exception ex)
        {
            // A bug in a continuation that ran inline must not end the loop every other connection on it needs.
            EpollLog.EventFailed(_logger, connection.ConnectionId, ex);
            connection.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("the connection's event handling failed", ex));
        }
    }
}
