using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace OpenConnect.Hosting;

/// <summary>Turns <c>urls</c>-style addresses into explicit Kestrel listeners, so a role can give its data and control endpoints different protocols.</summary>
public static class ListenUrls
{
    public static IEnumerable<Uri> Parse(string urls)
    {
        foreach (var part in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Kestrel's wildcard hosts are not valid URI hosts; map them to the any-address form first.
            var normalized = part.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new InvalidOperationException($"urls: '{part}' is not an http:// or https:// address with a port");
            }

            yield return uri;
        }
    }

    /// <summary>
    /// The cleartext address clients on this host use for a bound listener: its port once the server
    /// started (port 0 becomes the port the kernel picked), the any-address as loopback.
    /// </summary>
    /// <exception cref="InvalidOperationException">The listener is not bound yet.</exception>
    public static Uri BoundAddress(ListenOptions? listen, string what)
    {
        var endpoint = listen?.IPEndPoint ?? throw new InvalidOperationException($"the {what} is not bound yet");
        var host = endpoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endpoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endpoint.Address;
        return new Uri($"http://{new IPEndPoint(host, endpoint.Port)}");
    }

    public static void Listen(KestrelServerOptions kestrel, Uri url, Action<ListenOptions> configure)
    {
        if (url.IsLoopback && url.Host == "localhost")
        {
            kestrel.ListenLocalhost(url.Port, configure);
        }
        else if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address))
        {
            kestrel.Listen(address, url.Port, configure);
        }
        else
        {
            throw new InvalidOperationException($"urls: '{url}' must name an IP address, localhost or *, not a host name");
        }
    }
}
