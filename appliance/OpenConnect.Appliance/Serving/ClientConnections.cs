using System.Net;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Open connections per client address, for <c>Appliance:Limits:MaxConnectionsPerClient</c>: one
/// address cannot take the whole global cap (<c>Limits:MaxConnections</c>). IPv4-mapped IPv6
/// addresses count as their IPv4 address. A cap of 0 turns the check off.
/// </summary>
public sealed class ClientConnections(int maxPerClient)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _open = [];

    /// <summary>Addresses with at least one connection open.</summary>
    public int Addresses
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Takes a place for a new connection from <paramref name="client"/>; false when the address is at its cap.</summary>
    public bool TryOpen(IPAddress client)
    {
        if (maxPerClient <= 0)
        {
            return true;
        }

        client = Normalize(client);
        lock (_lock)
        {
            var open = _open.GetValueOrDefault(client);
            if (open >= maxPerClient)
            {
                return false;
            }

            _open[client] = open + 1;
            return true;
        }
    }

    /// <summary>Gives back the place <see cref="TryOpen"/> took.</summary>
    public void Close(IPAddress client)
    {
        if (maxPerClient <= 0)
        {
            return;
        }

        client = Normalize(client);
        lock (_lock)
        {
            var left = _open[client] - 1;
            if (left == 0)
            {
                _open.Remove(client);
            }
            else
            {
                _open[client] = left;
            }
        }
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
