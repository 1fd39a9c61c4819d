using System.Security.Cryptography;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Tests;

public sealed class PrecomputedHmacSha256Tests
{
    /// <summary>Equals the platform's HMAC-SHA256 for keys shorter, equal to and longer than a block and every message length up to five blocks, over the one-block/two-block padding edges.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(200)]
    public void Compute_EqualsHmacSha256(int keyLength)
    {
        var random = new Random(keyLength);
        var key = new byte[keyLength];
        random.NextBytes(key);
        var hmac = new PrecomputedHmacSha256(key);
        var mac = new byte[32];
        for (var length = 0; length <= 320; length++)
        {
            var message = new byte[length];
            random.NextBytes(message);
            hmac.Compute(message, mac);
            Assert.Equal(HMACSHA256.HashData(key, message), mac);
        }
    }

    /// <summary>RFC 4231 test case 2 (key "Jefe").</summary>
    [Fact]
    public void Compute_MatchesRfc4231()
    {
        var mac = new byte[32];
        new PrecomputedHmacSha256("Jefe"u8).Compute("what do ya want for nothing?"u8, mac);
        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Convert.ToHexStringLower(mac));
    }

    [Fact]
    public void Compute_RefusesAShortDestination() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrecomputedHmacSha256(new byte[32]).Compute([1, 2, 3], new byte[31]));
}
