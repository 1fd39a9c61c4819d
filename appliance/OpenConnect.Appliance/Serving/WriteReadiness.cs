using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Waits for sockets to become writable after sendfile(2) or send(2) returned EAGAIN, with one
/// epoll thread per core (a socket always goes to the same one, by descriptor number). The runtime's
/// own epoll registration of the socket is untouched: a second epoll instance may watch the same
/// descriptor. Registrations are level-triggered and one-shot, so readiness that arrived between
/// EAGAIN and the registration is reported at once (no lost wake-up), and each wait costs one
/// epoll_ctl. The waiting response continues on the epoll thread that saw the socket writable (its
/// next sendfile is non-blocking), nginx's shape: handing it to the thread pool cost a thread wake-up
/// and a context switch per wait.
/// </summary>
internal sealed unsafe class WriteReadiness : EpollThreads
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _waiters = new();

    public WriteReadiness()
        : this(Environment.ProcessorCount)
    {
    }

    public WriteReadiness(int threads)
        : base(threads, "openconnect-write-readiness") => Start();

    /// <summary>Completes when <paramref name="fd"/> is writable (or errored: the next send reports it), on an epoll thread.</summary>
    public Task WaitAsync(int fd, ref bool registered)
    {
        // No RunContinuationsAsynchronously: the response goes on on the epoll thread.
        var waiter = new TaskCompletionSource();
        _waiters[fd] = waiter;
        var epoll = EpollOf(fd);
        var ev = new Native.EpollEvent { Events = Native.EPOLLOUT | Native.EPOLLONESHOT, Data = (ulong)fd };
        var op = registered ? Native.EPOLL_CTL_MOD : Native.EPOLL_CTL_ADD;
        if (Native.EpollCtl(epoll, op, fd, &ev) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            op = errno == Native.ENOENT ? Native.EPOLL_CTL_ADD : Native.EPOLL_CTL_MOD;
            if (errno is not (Native.ENOENT or Native.EEXIST) || Native.EpollCtl(epoll, op, fd, &ev) != 0)
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

        Native.EpollCtl(EpollOf(fd), Native.EPOLL_CTL_DEL, fd, null);
        if (_waiters.TryRemove(fd, out var waiter))
        {
            waiter.TrySetCanceled();
        }

        registered = false;
    }

    protected override void OnEvent(int loop, in Native.EpollEvent ev)
    {
        if (_waiters.TryRemove((int)ev.Data, out var waiter))
        {
            waiter.TrySetResult();
        }
    }
}
