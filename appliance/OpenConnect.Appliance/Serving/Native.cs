using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The Linux system calls of the zero-copy path, in one place: sendfile(2) with an explicit offset
/// (which neither Kestrel nor <c>Socket.SendFile</c> exposes), send(2) with MSG_MORE so the response
/// head rides in the same TCP segment as the first body bytes, epoll for write readiness, and
/// recv(2), shutdown(2) and edge-triggered epoll for the epoll transport (<see cref="Epoll.EpollLoops"/>).
/// </summary>
internal static unsafe partial class Native
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOENT = 2;
    public const int EEXIST = 17;
    public const int MSG_MORE = 0x8000;
    public const int MSG_NOSIGNAL = 0x4000;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLONESHOT = 1u << 30;
    public const uint EPOLLET = 1u << 31;
    public const int SHUT_RDWR = 2;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const int EPOLL_CLOEXEC = 0x80000;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    public static partial nint SendFile(int outFd, int inFd, ref long offset, nint count);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint length, int flags);

    /// <summary>send(2) of a managed span; returns bytes sent or -1 with errno in the last P/Invoke error.</summary>
    public static nint Send(int fd, ReadOnlySpan<byte> buffer, int flags)
    {
        fixed (byte* p = buffer)
        {
            return Send(fd, p, buffer.Length, flags);
        }
    }

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeout);
}
