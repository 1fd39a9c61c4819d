using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Steering.Prefixes;

/// <summary>
/// Client address to site by longest-prefix match, IPv4 and IPv6. One hash table per prefix length
/// keyed by the masked address; a lookup probes the lengths present, longest first, so its cost is
/// bounded by the number of distinct lengths (at most 33 or 129), not by the number of prefixes.
/// </summary>
/// <remarks>
/// IPv4 has a 16-bit first level (two arrays of 65,536 entries, 384 KiB): per /16, the site of the
/// longest prefix of /16 or shorter that covers it, and which lengths above /16 occur inside it. A
/// lookup then probes only the longer lengths present in the client's /16 and answers the rest from
/// the array, where it used to probe every length in the table.
/// </remarks>
public sealed class PrefixTable
{
    private readonly string[] _sites;
    private readonly Dictionary<uint, int>?[] _v4;
    private readonly Dictionary<UInt128, int>?[] _v6;
    private readonly int[] _v6Lengths;

    // The IPv4 first level, indexed by the top 16 bits: site index + 1 of the longest prefix of /16
    // or shorter covering the /16 (0: none), and a bit per length 17..32 (bit length - 17) present inside it.
    private readonly int[] _v4Short;
    private readonly ushort[] _v4LongerLengths;

    private PrefixTable(string[] sites, Dictionary<uint, int>?[] v4, Dictionary<UInt128, int>?[] v6, int count)
    {
        _sites = sites;
        _v4 = v4;
        _v6 = v6;
        _v6Lengths = Enumerable.Range(0, 129).Where(l => v6[l] is not null).OrderDescending().ToArray();
        (_v4Short, _v4LongerLengths) = FirstLevel(v4);
        Count = count;
    }

    private static (int[] Short, ushort[] Longer) FirstLevel(Dictionary<uint, int>?[] v4)
    {
        var shortest = new int[1 << 16];
        var longer = new ushort[1 << 16];
        // Shorter prefixes first, so a longer one covering the same /16 overwrites them.
        for (var length = 0; length <= 16; length++)
        {
            if (v4[length] is not { } table)
            {
                continue;
            }

            foreach (var (network, site) in table)
            {
                var first = (int)(network >> 16);
                Array.Fill(shortest, site + 1, first, 1 << (16 - length));
            }
        }

        for (var length = 17; length <= 32; length++)
        {
            if (v4[length] is not { } table)
            {
                continue;
            }

            foreach (var network in table.Keys)
            {
                longer[network >> 16] |= (ushort)(1 << (length - 17));
            }
        }

        return (shortest, longer);
    }

    public static PrefixTable Empty { get; } = new Builder().Build();

    /// <summary>How many prefixes the table holds.</summary>
    public int Count { get; }

    public IReadOnlyList<string> Sites => _sites;

    /// <summary>The site announcing the longest prefix that contains <paramref name="address"/>, or null.</summary>
    public string? Lookup(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            return null;
        }

        if (written == 4)
        {
            return LookupV4(BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address, read in place.
        return address.IsIPv4MappedToIPv6
            ? LookupV4(BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]))
            : LookupV6(BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }

    public string? LookupV4(uint address)
    {
        var top = address >> 16;
        uint longer = _v4LongerLengths[top];
        while (longer != 0)
        {
            var bit = 31 - System.Numerics.BitOperations.LeadingZeroCount(longer);
            var length = 17 + bit;
            if (_v4[length]!.TryGetValue(address & MaskV4(length), out var site))
            {
                return _sites[site];
            }

            longer &= ~(1u << bit);
        }

        var shortest = _v4Short[top];
        return shortest == 0 ? null : _sites[shortest - 1];
    }

    public string? LookupV6(UInt128 address)
    {
        foreach (var length in _v6Lengths)
        {
            if (_v6[length]!.TryGetValue(address & MaskV6(length), out var site))
            {
                return _sites[site];
            }
        }

        return null;
    }

    private static uint MaskV4(int length) => length == 0 ? 0 : uint.MaxValue << (32 - length);

    private static UInt128 MaskV6(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);

    /// <summary>Collects prefixes; rejects a prefix with host bits set and one prefix claimed by two sites.</summary>
    public sealed class Builder
    {
        private readonly List<string> _sites = [];
        private readonly Dictionary<string, int> _siteIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<uint, int>?[] _v4 = new Dictionary<uint, int>?[33];
        private readonly Dictionary<UInt128, int>?[] _v6 = new Dictionary<UInt128, int>?[129];
        private int _count;

        /// <summary>Adds <c>network/bits</c> for <paramref name="site"/>; returns an error message, or null when added.</summary>
        public string? Add(string site, IPAddress network, int bits)
        {
            if (network.IsIPv4MappedToIPv6)
            {
                network = network.MapToIPv4();
                bits -= 96;
            }

            var index = SiteIndex(site);
            Span<byte> bytes = stackalloc byte[16];
            network.TryWriteBytes(bytes, out var written);
            if (network.AddressFamily == AddressFamily.InterNetwork)
            {
                if (bits is < 0 or > 32)
                {
                    return $"/{bits} is not an IPv4 prefix length";
                }

                var address = BinaryPrimitives.ReadUInt32BigEndian(bytes);
                if ((address & ~MaskV4(bits)) != 0)
                {
                    return $"{network}/{bits} has host bits set (the network is {new IPAddress(BinaryPrimitives.ReverseEndianness(address & MaskV4(bits)))}/{bits})";
                }

                var table = _v4[bits] ??= [];
                return Claim(table, address, index, network, bits);
            }

            if (written != 16 || bits is < 0 or > 128)
            {
                return $"/{bits} is not an IPv6 prefix length";
            }

            var v6 = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            if ((v6 & ~MaskV6(bits)) != 0)
            {
                return $"{network}/{bits} has host bits set";
            }

            var table6 = _v6[bits] ??= [];
            return Claim(table6, v6, index, network, bits);
        }

        /// <summary>Adds an IPv4 prefix given as a number (bench and tools); host bits are cleared.</summary>
        public bool AddV4(string site, uint network, int bits)
        {
            var table = _v4[bits] ??= [];
            if (table.TryAdd(network & MaskV4(bits), SiteIndex(site)))
            {
                _count++;
                return true;
            }

            return false;
        }

        /// <summary>Adds an IPv6 prefix given as a number (bench and tools); host bits are cleared.</summary>
        public bool AddV6(string site, UInt128 network, int bits)
        {
            var table = _v6[bits] ??= [];
            if (table.TryAdd(network & MaskV6(bits), SiteIndex(site)))
            {
                _count++;
                return true;
            }

            return false;
        }

        public PrefixTable Build() => new([.. _sites], _v4, _v6, _count);

        private string? Claim<TKey>(Dictionary<TKey, int> table, TKey key, int index, IPAddress network, int bits)
            where TKey : notnull
        {
            if (table.TryGetValue(key, out var existing))
            {
                return existing == index ? null : $"{network}/{bits} is also announced by site '{_sites[existing]}'";
            }

            table[key] = index;
            _count++;
            return null;
        }

        private int SiteIndex(string site)
        {
            if (!_siteIndex.TryGetValue(site, out var index))
            {
                index = _sites.Count;
                _sites.Add(site);
                _siteIndex[site] = index;
            }

            return index;
        }
    }
}
