using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Launcher.Layout;

/// <summary>Free data ports for a loopback fleet's roles (tests and benches start several fleets at once).</summary>
public static class LoopbackPorts
{
    /// <summary>Every port a role derives from its data port: parent, control, enrollment, management.</summary>
    public static readonly int[] Derived = [0, FleetLayout.ParentOffset, FleetLayout.ControlOffset, FleetLayout.EnrollOffset, FleetLayout.ManagementOffset];

    /// <summary>
    /// <paramref name="count"/> ports below the kernel's ephemeral range (32768 and up), so that
    /// other processes' outgoing connections cannot take them, each with the ports derived from it
    /// free when picked and far enough from the others that no two roles' derived ports meet.
    /// </summary>
    public static int[] Pick(int count)
    {
        var ports = new List<int>();
        for (var attempt = 0; ports.Count < count; attempt++)
        {
            if (attempt > 10_000)
            {
                throw new InvalidOperationException($"no {count} free port sets between 20000 and 30000 on 127.0.0.1");
            }

            var port = Random.Shared.Next(20_000, 30_000);
            if (ports.Any(p => Math.Abs(p - port) <= FleetLayout.ManagementOffset + 100) || !Derived.All(offset => IsFree(port + offset)))
            {
                continue;
            }

            ports.Add(port);
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
