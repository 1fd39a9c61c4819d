using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// The epoll transport's threads: one per core, each with its own epoll instance, nginx's shape. A
/// socket is registered once (edge-triggered, readable, writable and peer-closed) on the loop its
/// descriptor falls to and stays there: first as a <see cref="WaitingSocket"/> (accepted, nothing
/// received yet), then, from its first readable edge, as an <see cref="EpollConnection"/> under the same
/// registration, whose loop thread receives into its input pipe and runs the reader (the request loop)
/// inline. Events carry a registration number, not the descriptor, so a descriptor closed and reused
/// meanwhile is never mistaken for the old socket. One timer for all loops closes waiting sockets that
/// sent nothing within <c>Limits:FirstRequestTimeout</c>; a socket holds no timer of its own.
/// </summary>
internal sealed unsafe class EpollLoops : EpollThreads
{
    private readonly ConcurrentDictionary<ulong, IEpollSocket>[] _sockets;
    private readonly ILogger _logger;
    private readonly long _firstRequestTimeoutMs;
    private readonly Timer _sweep;
    private long _nextId;
    private int _registered;
    private int _waiting;

    public EpollLoops(int threads, TimeSpan firstRequestTimeout, ILogger logger)
        : base(threads, "openconnect-epoll")
    {
        _logger = logger;
        _firstRequestTimeoutMs = (long)firstRequestTimeout.TotalMilliseconds;
        _sockets = new ConcurrentDictionary<ulong, IEpollSocket>[threads];
        for (var i = 0; i < threads; i++)
        {
            _sockets[i] = new ConcurrentDictionary<ulong, IEpollSocket>();
        }

        // A quarter of the timeout (at most a second, at least 100 ms) between sweeps: a silent socket is closed
        // within 1.25 times the timeout.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_firstRequestTimeoutMs / 4, 100, 1000));
        _sweep = new Timer(static s => ((EpollLoops)s!).CloseSilentSockets(), this, period, period);
        Start();
    }

    /// <summary>Sockets registered and not yet removed: waiting ones and connections.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var map in _sockets)
            {
                count += map.Count;
            }

            return count;
        }
    }

    /// <summary>Accepted sockets that have sent nothing yet (<see cref="WaitingSocket"/>).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Counts a socket about to wait for its first bytes; false (nothing counted) when <paramref name="max"/>
    /// sockets, waiting or connections, are registered already. Only a listener's accept loop registers, so
    /// the count cannot grow between this check and the registration.
    /// </summary>
    public bool TryStartWaiting(long max)
    {
        if (Volatile.Read(ref _registered) >= max)
        {
            return false;
        }

        Interlocked.Increment(ref _waiting);
        return true;
    }

    /// <summary>A waiting socket was handed over or closed.</summary>
    public void EndWaiting() => Interlocked.Decrement(ref _waiting);

    /// <summary>A registration number for <see cref="Register"/>, known before the socket's first event can arrive.</summary>
    public ulong NewRegistration() => (ulong)Interlocked.Increment(ref _nextId);

    /// <summary>Adds <paramref name="socket"/> to its descriptor's loop; its events start arriving at once.</summary>
    public void Register(ulong id, IEpollSocket socket, int fd)
    {
        var loop = LoopOf(fd);
        _sockets[loop][id] = socket;
        var ev = new Native.EpollEvent { Events = Native.EPOLLIN | Native.EPOLLOUT | Native.EPOLLRDHUP | Native.EPOLLET, Data = id };
        if (Native.EpollCtl(EpollOf(fd), Native.EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _sockets[loop].TryRemove(id, out _);
            throw new IOException($"epoll_ctl(ADD) failed: errno {errno}");
        }

        Interlocked.Increment(ref _registered);
    }

    /// <summary>Events of registration <paramref name="id"/> go to <paramref name="socket"/> from now on (a waiting socket became a connection, on its loop thread).</summary>
    public void Replace(ulong id, IEpollSocket socket, int fd) => _sockets[LoopOf(fd)][id] = socket;

    /// <summary>Removes a socket; must run before its descriptor is closed. Events already taken may still be delivered (the socket ignores them).</summary>
    public void Unregister(ulong id, int fd)
    {
        if (_sockets[LoopOf(fd)].TryRemove(id, out _))
        {
            Native.EpollCtl(EpollOf(fd), Native.EPOLL_CTL_DEL, fd, null);
            Interlocked.Decrement(ref _registered);
        }
    }

    /// <summary>Waiting sockets accepted by <paramref name="listener"/>, for closing them when it is unbound.</summary>
    public List<WaitingSocket> WaitingOf(EpollListener listener)
    {
        var found = new List<WaitingSocket>();
        foreach (var map in _sockets)
        {
            foreach (var (_, socket) in map)
            {
                if (socket is WaitingSocket waiting && waiting.Listener == listener)
                {
                    found.Add(waiting);
                }
            }
        }

        return found;
    }

    private void CloseSilentSockets()
    {
        if (Volatile.Read(ref _waiting) == 0)
        {
            return;
        }

        var cutoff = Environment.TickCount64 - _firstRequestTimeoutMs;
        foreach (var map in _sockets)
        {
            foreach (var (_, socket) in map)
            {
                if (socket is WaitingSocket waiting && waiting.AcceptedBefore(cutoff))
                {
                    waiting.Close();
                }
            }
        }
    }

    protected override void OnEvent(int loop, in Native.EpollEvent ev)
    {
        if (!_sockets[loop].TryGetValue(ev.Data, out var socket))
        {
            return;
        }

        try
        {
            socket.OnEvents(ev.Events);
        }
        catch (Exception ex)
        {
            // A bug in a continuation that ran inline must not end the loop every other connection on it needs.
            EpollLog.EventFailed(_logger, socket.Name, ex);
            socket.Fail(ex);
        }
    }

    protected override void OnDispose() => _sweep.Dispose();
}
