using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace OpenConnect.Hosting.Discovery;

/// <summary>
/// Finds a service through a DNS SRV record (<c>_steering._tcp.isp.example</c>), falling back to a
/// static URL when the name is not configured, does not resolve, or the DNS server does not answer.
/// The lowest priority wins; among equal priorities the highest weight (SRV's weighted choice is
/// deliberately made deterministic so every caller of one name agrees). The SRV target is resolved
/// with the same DNS server (additional records first, then an A/AAAA query).
/// </summary>
public sealed class SrvLocator
{
    private readonly string _srvName;
    private readonly Uri? _fallback;
    private readonly LookupClient? _lookup;

    /// <param name="srvName">The SRV name; empty means always use <paramref name="fallbackUrl"/>.</param>
    /// <param name="dnsServer">A <c>host:port</c> DNS server; empty means the system's resolvers.</param>
    /// <param name="fallbackUrl">Used when SRV gives nothing; empty means none.</param>
    /// <param name="timeout">Per-query timeout.</param>
    public SrvLocator(string srvName, string dnsServer, string fallbackUrl, TimeSpan timeout)
    {
        _srvName = srvName;
        _fallback = string.IsNullOrEmpty(fallbackUrl) ? null : new Uri(fallbackUrl);
        if (srvName.Length > 0)
        {
            var options = dnsServer.Length > 0 && TryParseServer(dnsServer, out var server)
                ? new LookupClientOptions(server)
                : new LookupClientOptions();
            options.UseCache = false;
            options.Timeout = timeout;
            options.Retries = 1;
            options.ThrowDnsErrors = false;
            options.ContinueOnDnsError = false;
            _lookup = new LookupClient(options);
        }
    }

    public string SrvName => _srvName;

    public Uri? Fallback => _fallback;

    /// <summary>
    /// The service's URL: from SRV when configured and resolvable, else the fallback (null when there is neither).
    /// <c>FromSrv</c> tells which.
    /// </summary>
    public async Task<(Uri? Url, bool FromSrv)> ResolveAsync(CancellationToken cancellationToken)
    {
        var (urls, fromSrv) = await ResolveAllAsync(cancellationToken, firstOnly: true).ConfigureAwait(false);
        return (urls.Count > 0 ? urls[0] : null, fromSrv);
    }

    /// <summary>
    /// Every target of the SRV name, best first in the order <see cref="ResolveAsync"/> picks by (for a
    /// service whose callers talk to all its replicas), or the fallback alone when SRV gives nothing
    /// (empty when there is no fallback either). <c>FromSrv</c> tells which.
    /// </summary>
    public Task<(IReadOnlyList<Uri> Urls, bool FromSrv)> ResolveAllAsync(CancellationToken cancellationToken) =>
        ResolveAllAsync(cancellationToken, firstOnly: false);

    private async Task<(IReadOnlyList<Uri> Urls, bool FromSrv)> ResolveAllAsync(CancellationToken cancellationToken, bool firstOnly)
    {
        IReadOnlyList<Uri> fallback = _fallback is null ? [] : [_fallback];
        if (_lookup is null)
        {
            return (fallback, false);
        }

        try
        {
            var response = await _lookup.QueryAsync(_srvName, QueryType.SRV, QueryClass.IN, cancellationToken).ConfigureAwait(false);
            var records = response.Answers.SrvRecords().OrderBy(r => r.Priority).ThenByDescending(r => r.Weight).ThenBy(r => r.Target.Value, StringComparer.Ordinal).ToList();
            var urls = new List<Uri>(records.Count);
            foreach (var record in records)
            {
                var host = await ResolveTargetAsync(record.Target.Value.TrimEnd('.'), response.Additionals, cancellationToken).ConfigureAwait(false);
                var url = new UriBuilder(_fallback?.Scheme ?? Uri.UriSchemeHttp, host, record.Port).Uri;
                if (!urls.Contains(url))
                {
                    urls.Add(url);
                }

                if (firstOnly)
                {
                    break;
                }
            }

            if (urls.Count > 0)
            {
                return (urls, true);
            }
        }
        catch (Exception ex) when (ex is DnsResponseException or System.Net.Sockets.SocketException or TimeoutException)
        {
            // No answer from the DNS server: keep working with the static URL.
        }

        return (fallback, false);
    }

    private async Task<string> ResolveTargetAsync(string target, IReadOnlyList<DnsResourceRecord> additionals, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(target, out var literal))
        {
            return Host(literal);
        }

        var glue = additionals.OfType<AddressRecord>().FirstOrDefault(r => string.Equals(r.DomainName.Value.TrimEnd('.'), target, StringComparison.OrdinalIgnoreCase));
        if (glue is not null)
        {
            return Host(glue.Address);
        }

        var a = await _lookup!.QueryAsync(target, QueryType.A, QueryClass.IN, cancellationToken).ConfigureAwait(false);
        var address = a.Answers.ARecords().FirstOrDefault()?.Address;
        if (address is null)
        {
            var aaaa = await _lookup.QueryAsync(target, QueryType.AAAA, QueryClass.IN, cancellationToken).ConfigureAwait(false);
            address = aaaa.Answers.AaaaRecords().FirstOrDefault()?.Address;
        }

        // Unknown to this DNS server: leave the name to the system resolver at connect time.
        return address is null ? target : Host(address);
    }

    private static string Host(IPAddress address) => address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    /// <summary>Parses <c>address:port</c> (<c>[v6]:port</c> for IPv6).</summary>
    public static bool TryParseServer(string text, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 53);
        if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port == 0 || !text.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        endpoint = parsed;
        return true;
    }

    public override string ToString() =>
        _srvName.Length > 0 ? $"SRV {_srvName} (fallback {_fallback?.ToString() ?? "none"})" : _fallback?.ToString() ?? "none";
}
