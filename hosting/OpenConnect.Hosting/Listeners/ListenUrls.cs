using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace OpenConnect.Hosting;

/// <summary>One address from <c>urls</c>: <see cref="AnyAddress"/> when it named <c>*</c> or <c>+</c> (both address families).</summary>
public sealed record ListenUrl(Uri Uri, bool AnyAddress)
{
    public string Scheme => Uri.Scheme;

    public int Port => Uri.Port;

    public override string ToString() => AnyAddress ? $"{Uri.Scheme}://*:{Uri.Port}" : Uri.ToString();
}

/// <summary>Turns <c>urls</c>-style addresses into explicit Kestrel listeners, so a role can give its data, control and management endpoints different protocols.</summary>
public static class ListenUrls
{
    /// <summary>Parses <c>;</c>-separated addresses; <paramref name="key"/> names the setting in errors.</summary>
    /// <exception cref="InvalidOperationException">An address is not http(s) with an IP address, localhost or a wildcard host, and a port.</exception>
    public static IReadOnlyList<ListenUrl> Parse(string urls, string key = "urls")
    {
        var (parsed, problem) = TryParse(urls);
        return problem is null ? parsed : throw new InvalidOperationException($"{key}: {problem}");
    }

    /// <summary>Parses like <see cref="Parse"/>; on failure returns what is wrong (without the setting's name) instead of throwing.</summary>
    public static (IReadOnlyList<ListenUrl> Urls, string? Problem) TryParse(string urls)
    {
        var parts = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            return ([], "no address given");
        }

        var parsed = new List<ListenUrl>(parts.Length);
        foreach (var part in parts)
        {
            // Kestrel's wildcard hosts are not valid URI hosts: parse with a placeholder, remember the wildcard.
            var any = part.Contains("://*:", StringComparison.Ordinal) || part.Contains("://+:", StringComparison.Ordinal);
            var normalized = any ? part.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal) : part;
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !HasExplicitPort(part))
            {
                return ([], $"'{part}' is not an http:// or https:// address with a port");
            }

            if (!any && uri.Host != "localhost" && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _))
            {
                return ([], $"'{part}' must name an IP address, localhost or *, not a host name");
            }

            if (uri.AbsolutePath != "/" || uri.Query.Length > 0)
            {
                return ([], $"'{part}' must not have a path");
            }

            parsed.Add(new ListenUrl(uri, any));
        }

        return (parsed, null);
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

    /// <summary>
    /// Binds one address. A wildcard (<c>*</c>, <c>+</c>) listens on both families: Kestrel's any-IP
    /// listener is the IPv6 any-address in dual mode (IPv4 only where the host has no IPv6).
    /// <c>localhost</c> binds 127.0.0.1 and ::1.
    /// </summary>
    public static void Listen(KestrelServerOptions kestrel, ListenUrl url, Action<ListenOptions> configure)
    {
        var uri = url.Uri;
        if (url.AnyAddress)
        {
            kestrel.ListenAnyIP(uri.Port, configure);
        }
        else if (uri.IsLoopback && uri.Host == "localhost")
        {
            kestrel.ListenLocalhost(uri.Port, configure);
        }
        else if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address))
        {
            kestrel.Listen(address, uri.Port, configure);
        }
        else
        {
            throw new InvalidOperationException($"urls: '{uri}' must name an IP address, localhost or *, not a host name");
        }
    }

    private static bool HasExplicitPort(string url)
    {
        // Uri fills in 80/443; a listener address must say its port.
        var authority = url.AsSpan(url.IndexOf("://", StringComparison.Ordinal) + 3);
        var end = authority.IndexOf('/');
        if (end >= 0)
        {
            authority = authority[..end];
        }

        var colon = authority.LastIndexOf(':');
        return colon >= 0 && colon > authority.LastIndexOf(']') && colon < authority.Length - 1;
    }
}
