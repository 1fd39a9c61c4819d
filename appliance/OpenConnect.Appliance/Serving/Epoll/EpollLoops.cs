using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// The epoll transport's threads: one per core, each with its own epoll instance, nginx's shape. A
/// connection is registered once (edge-triggered, readable, writable and peer-closed) on the loop its
/// number falls to and stays there: the loop thread that sees it readable receives into its input pipe,
/// and the reader (the request loop) runs inline on that thread. Events carry a registration number, not
/// the descriptor, so a descriptor closed and reused meanwhile is never mistaken for the old connection.
/// </summary>
internal sealed unsafe class EpollLoops : IDisposable
{
    private readonly int[] _epolls;
    private readonly ConcurrentDictionary<ulong, EpollConnection>[] _connections;
    private readonly Thread[] _threads;
    private readonly ILogger _logger;
    private long _nextId;
    private volatile bool _disposed;

    public EpollLoops(int threads, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _logger = logger;
        _epolls = new int[threads];
        _connections = new ConcurrentDictionary<ulong, EpollConnection>[threads];
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _epolls[i] = Native.EpollCreate1(Native.EPOLL_CLOEXEC);
            if (_epolls[i] < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                CloseAll(i);
                throw new IOException($"epoll_create1 failed: errno {errno}");
            }

            _connections[i] = new ConcurrentDictionary<ulong, EpollConnection>();
        }

        for (var i = 0; i < threads; i++)
        {
            var loop = i;
            _threads[i] = new Thread(() => Run(loop)) { IsBackground = true, Name = $"openconnect-epoll-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Connections registered and not yet removed (for tests and gauges).</summary>
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

    /// <summary>Adds <paramref name="connection"/> to a loop; its events start arriving at once.</summary>
    public ulong Register(EpollConnection connection, int fd)
    {
        var id = (ulong)Interlocked.Increment(ref _nextId);
        var loop = (int)((uint)fd % (uint)_epolls.Length);
        _connections[loop][id] = connection;
        var ev = new Native.EpollEvent { Events = Native.EPOLLIN | Native.EPOLLOUT | Native.EPOLLRDHUP | Native.EPOLLET, Data = id };
        if (Native.EpollCtl(_epolls[loop], Native.EPOLL_CTL_ADD, fd, &ev) != 0)
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
        var loop = (int)((uint)fd % (uint)_epolls.Length);
        if (_connections[loop].TryRemove(id, out _))
        {
            Native.EpollCtl(_epolls[loop], Native.EPOLL_CTL_DEL, fd, null);
        }
    }

    private void Run(int loop)
    {
        const int Max = 256;
        var epoll = _epolls[loop];
        var connections = _connections[loop];
        var events = stackalloc Native.EpollEvent[Max];
        while (!_disposed)
        {
            var n = Native.EpollWait(epoll, events, Max, 1000);
            for (var i = 0; i < n; i++)
            {
                if (!connections.TryGetValue(events[i].Data, out var connection))
                {
                    continue;
                }

                try
                {
                    connection.OnEvents(events[i].Events);
                }
                catch (Exception ex)
                {
                    // A bug in a continuation that ran inline must not end the loop every other connection on it needs.
                    EpollLog.EventFailed(_logger, connection.ConnectionId, ex);
                    connection.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("the connection's event handling failed", ex));
                }
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        CloseAll(_epolls.Length);
    }

    private void CloseAll(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _ = CloseNative(_epolls[i]);
        }
    }

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseNative(int fd);
}
