using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenConnect.Steering.Prefixes;
using OpenConnect.Testing;

namespace OpenConnect.Steering.Tests;

public sealed class PrefixTableTests
{
    private static readonly string[] Isp1 = ["10.0.0.0/8", "203.0.113.0/24", "2001:db8::/32", "# comment line", "  192.0.2.7   # a host"];
    private static readonly string[] Isp2 = ["10.1.0.0/16", "2001:db8:aa::/48", "::ffff:198.51.100.0/120"];
    private static readonly string[] Region = ["0.0.0.0/1"];

    [Theory]
    [InlineData("10.2.3.4", "isp1")]
    [InlineData("10.1.3.4", "isp2")] // overlapping: the /16 beats the /8
    [InlineData("203.0.113.200", "isp1")]
    [InlineData("192.0.2.7", "isp1")]
    [InlineData("192.0.2.8", null)] // 192 is outside 0.0.0.0/1 and any other prefix
    [InlineData("100.64.0.1", "region")]
    [InlineData("198.51.100.9", "isp2")] // written as an IPv4-mapped IPv6 prefix
    [InlineData("::ffff:10.1.0.1", "isp2")] // IPv4-mapped client
    [InlineData("2001:db8:1::1", "isp1")]
    [InlineData("2001:db8:aa:1::1", "isp2")]
    [InlineData("2001:db9::1", null)]
    public void Lookup_FindsTheLongestMatchingPrefix(string address, string? site)
    {
        var builder = new PrefixTable.Builder();
        foreach (var (name, lines) in new[] { ("isp1", Isp1), ("isp2", Isp2), ("region", Region) })
        {
            foreach (var line in lines)
            {
                Assert.Null(PrefixFiles.AddLine(builder, name, line));
            }
        }

        Assert.Equal(site, builder.Build().Lookup(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.0.0.1/8", "host bits set")]
    [InlineData("10.0.0.0/33", "invalid prefix length")]
    [InlineData("2001:db8::/129", "invalid prefix length")]
    [InlineData("not-an-address", "is not an IPv4 or IPv6 prefix")]
    [InlineData("10.0.0.0/x", "invalid prefix length")]
    public void BadLines_AreRejected_WithAReason(string line, string reason)
    {
        Assert.Contains(reason, PrefixFiles.AddLine(new PrefixTable.Builder(), "s", line), StringComparison.Ordinal);
    }

    [Fact]
    public void OnePrefix_InTwoSites_IsAnError()
    {
        var builder = new PrefixTable.Builder();
        Assert.Null(PrefixFiles.AddLine(builder, "a", "10.0.0.0/8"));
        Assert.Null(PrefixFiles.AddLine(builder, "a", "10.0.0.0/8"));
        Assert.Contains("also announced by site 'a'", PrefixFiles.AddLine(builder, "b", "10.0.0.0/8"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Directory_ReloadsOnChange_AndABrokenFileKeepsThePreviousTable()
    {
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.Combine("isp1.prefixes"), "10.0.0.0/8\n");
        var options = Options.Create(new SteeringOptions { PrefixDirectory = dir.Path, PrefixReloadInterval = TimeSpan.FromSeconds(30) });
        using var watcher = new PrefixDirectoryWatcher(options, NullLogger<PrefixDirectoryWatcher>.Instance);
        await watcher.StartAsync(CancellationToken.None);
        Assert.Equal("isp1", watcher.Table.Lookup(IPAddress.Parse("10.9.9.9")));
        Assert.Null(watcher.Table.Lookup(IPAddress.Parse("172.16.0.1")));

        // A new site file is picked up without a restart (file-system notification).
        await WriteAtomicallyAsync(dir.Combine("isp2.prefixes"), "172.16.0.0/12\n10.9.0.0/16\n");
        await WaitAsync(() => watcher.Table.Lookup(IPAddress.Parse("172.16.0.1")) == "isp2");
        Assert.Equal("isp2", watcher.Table.Lookup(IPAddress.Parse("10.9.9.9")));
        Assert.Equal("isp1", watcher.Table.Lookup(IPAddress.Parse("10.8.9.9")));
        Assert.Equal(HealthStatus.Healthy, (await watcher.CheckHealthAsync(new HealthCheckContext())).Status);

        // A broken file: the previous table stays, health says why.
        await WriteAtomicallyAsync(dir.Combine("isp2.prefixes"), "172.16.0.0/12\n10.9.0.0/99\n");
        await WaitAsync(() => watcher.LastError is not null);
        Assert.Contains("isp2.prefixes:2", watcher.LastError, StringComparison.Ordinal);
        Assert.Equal("isp2", watcher.Table.Lookup(IPAddress.Parse("10.9.9.9")));
        var health = await watcher.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("isp2.prefixes:2", health.Description, StringComparison.Ordinal);

        // Fixed (and also found by the periodic check when a notification is missed).
        await WriteAtomicallyAsync(dir.Combine("isp2.prefixes"), "172.16.0.0/12\n");
        watcher.Reload(force: false);
        Assert.Null(watcher.LastError);
        Assert.Equal("isp1", watcher.Table.Lookup(IPAddress.Parse("10.9.9.9")));
    }

    private static async Task WriteAtomicallyAsync(string path, string text)
    {
        await File.WriteAllTextAsync(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the prefix directory was not reloaded within 10 s");
            await Task.Delay(25);
        }
    }

    /// <summary>
    /// The IPv4 lookup (16-bit first level, then the longer lengths present in the /16) agrees with a
    /// brute-force longest match over random prefixes of every length, nested and overlapping, for
    /// addresses inside them, next to them and anywhere; IPv4-mapped clients read the same.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LookupV4_AgreesWithABruteForceLongestMatch(int seed)
    {
        var random = new Random(seed);
        var builder = new PrefixTable.Builder();
        var prefixes = new List<(uint Network, int Bits, string Site)>();
        // Crowd a few /8s so prefixes nest; /0 and short lengths only sometimes, so misses happen too.
        uint[] crowded = [0x0A00_0000, 0xC000_0000, 0x6400_0000];
        var lengths = seed == 1 ? new[] { 1, 8, 12, 15, 16, 17, 20, 23, 24, 25, 30, 32 } : new[] { 0, 4, 16, 16, 17, 18, 24, 24, 24, 31, 32 };
        for (var i = 0; i < 3000; i++)
        {
            var bits = lengths[random.Next(lengths.Length)];
            var address = crowded[random.Next(crowded.Length)] | ((uint)random.Next(1 << 24) & 0x00FF_FFFF);
            var network = bits == 0 ? 0 : address & (uint.MaxValue << (32 - bits));
            var site = $"s{random.Next(50)}";
            if (builder.AddV4(site, network, bits))
            {
                prefixes.Add((network, bits, site));
            }
        }

        var table = builder.Build();
        string? Expected(uint address) => prefixes
            .Where(p => p.Bits == 0 || (address & (uint.MaxValue << (32 - p.Bits))) == p.Network)
            .OrderByDescending(p => p.Bits)
            .Select(p => p.Site)
            .FirstOrDefault();

        var probes = prefixes.Take(500).SelectMany(p => new[] { p.Network, p.Network - 1, p.Network | (uint)random.Next(1 << 8) })
            .Concat(Enumerable.Range(0, 500).Select(_ => (uint)random.NextInt64(0, 1L << 32)));
        foreach (var address in probes)
        {
            var expected = Expected(address);
            Assert.Equal(expected, table.LookupV4(address));
            var bytes = BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(address));
            Assert.Equal(expected, table.Lookup(new IPAddress(bytes)));
            Assert.Equal(expected, table.Lookup(new IPAddress(bytes).MapToIPv6()));
        }
    }
}
