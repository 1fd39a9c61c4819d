using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Waits for sockets to become writable after sendfile(2) or send(2) returned EAGAIN, with one
/// dedicated epoll thread. The runtime's own epoll registration of the socket is untouched: a
/// second epoll instance may watch the same descriptor. Registrations are level-triggered and
/// one-shot, so readiness that arrived between EAGAIN and the registration is reported at once
/// (no lost wake-up), and each wait costs one epoll_ctl.
/// </summary>
internal sealed unsafe class WriteReadiness : IDisposable
{
    private readonly int _epoll;
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _waiters = new();
    private readonly Thread _thread;
    private volatile bool _disposed;

    public WriteReadiness()
    {
        _epoll = Native.EpollCreate1(Native.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _thread = new Thread(Loop) { IsBackground = true, Name = "openconnect-write-readiness" };
        _thread.Start();
    }

    /// <summary>Completes when <paramref name="fd"/> is writable (or errored: the next send reports it).</summary>
    public Task WaitAsync(int fd, ref bool registered)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters[fd] = waiter;
        var ev = new Native.EpollEvent { Events = Native.EPOLLOUT | Native.EPOLLONESHOT, Data = (ulong)fd };
        var op = registered ? Native.EPOLL_CTL_MOD : Native.EPOLL_CTL_ADD;
        if (Native.EpollCtl(_epoll, op, fd, &ev) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            op = errno == Native.ENOENT ? Native.EPOLL_CTL_ADD : Native.EPOLL_CTL_MOD;
            if (errno is not (Native.ENOENT or Native.EEXIST) || Native.EpollCtl(_epoll, op, fd, &ev) != 0)
            {
                _waiters.TryRemove(fd, out _);
                return Task.FromException(new IOException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}"));
            }
        }

        registered = true;
        return waiter.Task;
    }

    /// <summary>Must run before the socket is closed, so a reused descriptor number is not confused with it.</summary>
    public void Unregister(int fd, ref bool registered)
    {
        if (!registered)
        {
            return;
        }

        Native.EpollCtl(_epoll, Native.EPOLL_CTL_DEL, fd, null);
        if (_waiters.TryRemove(fd, out var waiter))
        {
            waiter.TrySetCanceled();
        }

        registered = false;
    }

    private void Loop()
    {
        const int Max = 256;
        var events = stackalloc Native.EpollEvent[Max];
        while (!_disposed)
        {
            var n = Native.EpollWait(_epoll, events, Max, 1000);
            for (var i = 0; i < n; i++)
            {
                if (_waiters.TryRemove((int)events[i].Data, out var waiter))
                {
                    waiter.TrySetResult();
                }
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _thread.Join();
        _ = CloseNative(_epoll);
    }

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseNative(int fd);
}
