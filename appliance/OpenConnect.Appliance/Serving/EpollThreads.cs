using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Epoll instances with one thread each, a descriptor always on the same one (by its number): what
/// <see cref="WriteReadiness"/> and the epoll transport's <see cref="Epoll.EpollLoops"/> share. Each
/// thread waits on its instance and hands every event to <see cref="OnEvent"/>, on that thread.
/// </summary>
internal abstract unsafe class EpollThreads : IDisposable
{
    private readonly int[] _epolls;
    private readonly Thread[] _threads;
    private volatile bool _disposed;

    protected EpollThreads(int threads, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _epolls = new int[threads];
        for (var i = 0; i < threads; i++)
        {
            _epolls[i] = Native.EpollCreate1(Native.EPOLL_CLOEXEC);
            if (_epolls[i] < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                CloseEpolls(i);
                throw new IOException($"epoll_create1 failed: errno {errno}");
            }
        }

        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            var loop = i;
            _threads[i] = new Thread(() => Run(loop)) { IsBackground = true, Name = $"{name}-{i}" };
        }
    }

    /// <summary>Starts the threads; the derived class calls it once its own state is set up.</summary>
    protected void Start()
    {
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    protected int Loops => _epolls.Length;

    /// <summary>The loop a descriptor belongs to.</summary>
    protected int LoopOf(int fd) => (int)((uint)fd % (uint)_epolls.Length);

    /// <summary>The epoll instance a descriptor belongs to.</summary>
    protected int EpollOf(int fd) => _epolls[LoopOf(fd)];

    /// <summary>One event, on the thread of loop <paramref name="loop"/>.</summary>
    protected abstract void OnEvent(int loop, in Native.EpollEvent ev);

    private void Run(int loop)
    {
        const int Max = 256;
        var epoll = _epolls[loop];
        var events = stackalloc Native.EpollEvent[Max];
        while (!_disposed)
        {
            var n = Native.EpollWait(epoll, events, Max, 1000);
            for (var i = 0; i < n; i++)
            {
                OnEvent(loop, events[i]);
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
        OnDispose();
        foreach (var thread in _threads)
        {
            if (thread.IsAlive)
            {
                thread.Join();
            }
        }

        CloseEpolls(_epolls.Length);
    }

    /// <summary>Called once when disposing, before the threads are joined.</summary>
    protected virtual void OnDispose()
    {
    }

    private void CloseEpolls(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _ = CloseNative(_epolls[i]);
        }
    }

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseNative(int fd);
}
