using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// An accepted socket that has not sent a byte yet, as nginx holds one: registered on its loop with no
/// pipes, no Kestrel connection and no timer (the loops' sweep closes it after
/// <c>Limits:FirstRequestTimeout</c>). Its first readable edge turns it into an <see cref="EpollConnection"/>
/// under the same registration, which receives at once and is handed to Kestrel through its listener.
/// </summary>
internal sealed class WaitingSocket(Socket socket, EpollListener listener, int fd, ulong registration, long acceptedAt) : IEpollSocket
{
    private const int Waiting = 0;
    private const int Taken = 1;

    private int _state;

    public int Fd => fd;

    public ulong Registration => registration;

    public EpollListener Listener => listener;

    public IPAddress? Client => (socket.RemoteEndPoint as IPEndPoint)?.Address;

    public string Name => "-";

    /// <summary>True when it was accepted at or before <paramref name="cutoff"/> (<see cref="Environment.TickCount64"/>).</summary>
    public bool AcceptedBefore(long cutoff) => acceptedAt <= cutoff;

    public void OnEvents(uint events)
    {
        if ((events & (Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR)) != 0 && Unread() == 0)
        {
            // Closed (or reset) before sending anything: nothing to answer, nothing for Kestrel to see.
            Close();
        }
        else if ((events & Native.EPOLLIN) != 0 && Take())
        {
            listener.HandOver(this, socket, events);
        }

        // A writable edge alone (every new socket reports one) changes nothing.
    }

    /// <summary>Bytes the peer sent that wait to be read (FIONREAD); 0 once the socket failed.</summary>
    private int Unread()
    {
        try
        {
            return socket.Available;
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    public void Fail(Exception error) => Close();

    /// <summary>Closes it unless it was handed over meanwhile (by its loop thread; the sweep and unbinding call this too).</summary>
    public void Close()
    {
        if (Take())
        {
            listener.Discard(this, socket);
        }
    }

    /// <summary>Exactly one of hand-over and close wins.</summary>
    private bool Take() => Interlocked.CompareExchange(ref _state, Taken, Waiting) == Waiting;
}
