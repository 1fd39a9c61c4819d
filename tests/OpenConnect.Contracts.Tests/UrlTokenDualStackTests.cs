using System.Net;
using System.Text;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Tests;

/// <summary>Tokens that bind a dual-stack player: a list of client prefixes, any of which admits the client.</summary>
public sealed class UrlTokenDualStackTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 6, 0, 0, TimeSpan.Zero);
    private static readonly Ed25519SigningKey Key = Ed25519SigningKey.FromSeed(Enumerable.Range(3, 32).Select(i => (byte)i).ToArray());
    private static readonly PublicKeyRing Ring = new([Key.PublicKey]);

    /// <summary>
    /// What steering issues now: the client's prefix in the family it came from plus the other
    /// family whole. The issuing family still refuses a foreign network.
    /// </summary>
    [Theory]
    [InlineData("198.51.100.0/24,::/0", "198.51.100.7", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24,::/0", "::ffff:198.51.100.7", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24,::/0", "2001:2:0:7::1", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24,::/0", "::1", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24,::/0", "198.51.101.7", TokenCheck.WrongClient)]
    [InlineData("198.51.100.0/24,::/0", "::ffff:198.51.101.7", TokenCheck.WrongClient)]
    [InlineData("2001:2:0:1::/64,0.0.0.0/0", "2001:2:0:1::9", TokenCheck.Valid)]
    [InlineData("2001:2:0:1::/64,0.0.0.0/0", "203.0.113.9", TokenCheck.Valid)]
    [InlineData("2001:2:0:1::/64,0.0.0.0/0", "2001:2:0:2::9", TokenCheck.WrongClient)]
    [InlineData("198.51.100.0/24,2001:2:0:1::/64", "198.51.100.200", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24,2001:2:0:1::/64", "2001:2:0:1:ffff::1", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24,2001:2:0:1::/64", "2001:2:0:2::1", TokenCheck.WrongClient)]
    [InlineData("198.51.100.0/24,2001:2:0:1::/64", "192.0.2.1", TokenCheck.WrongClient)]
    public void APrefixList_AdmitsAClientInAnyOfItsPrefixes(string prefixes, string client, TokenCheck expected)
    {
        var token = UrlToken.Sign(Key, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"), prefixes);
        Assert.Equal(prefixes, UrlToken.Peek(token)!.ClientPrefix);
        Assert.Equal(expected, UrlToken.Verify(token, Ring, Now, "/v/t1/720p/seg-00001.m4s", IPAddress.Parse(client)));
    }

    /// <summary>
    /// A token as steering issued it before dual-stack serving (one prefix, built here byte for byte
    /// in that format) verifies as it did: its own network only, the other family refused.
    /// </summary>
    [Theory]
    [InlineData("198.51.100.0/24", "198.51.100.7", TokenCheck.Valid)]
    [InlineData("198.51.100.0/24", "2001:2::1", TokenCheck.WrongClient)]
    [InlineData("198.51.100.0/24", "198.51.99.7", TokenCheck.WrongClient)]
    [InlineData("2001:2:0:1::/48", "2001:2:0:9::1", TokenCheck.Valid)]
    [InlineData("2001:2:0:1::/48", "198.51.100.7", TokenCheck.WrongClient)]
    public void ASinglePrefixTokenInThePreviousFormat_StillVerifies(string prefix, string client, TokenCheck expected)
    {
        var expires = Now.AddMinutes(5).ToUnixTimeSeconds();
        var payload = Encoding.UTF8.GetBytes($"v1|{Key.KeyId}|{expires}|/v/t1/|{prefix}");
        var token = System.Buffers.Text.Base64Url.EncodeToString(payload) + "." + System.Buffers.Text.Base64Url.EncodeToString(Key.Sign(payload));
        Assert.Equal(expected, UrlToken.Verify(token, Ring, Now, "/v/t1/master.m3u8", IPAddress.Parse(client)));
    }

    [Theory]
    [InlineData("198.51.100.0/24,")]
    [InlineData(",198.51.100.0/24")]
    [InlineData("198.51.100.0/24,::/0,10.0.0.0/8,2001:db8::/32,192.0.2.0/24")]
    [InlineData("198.51.100.0/24;::/0")]
    [InlineData("198.51.100.0/24,::/129")]
    public void Sign_RefusesAMalformedPrefixList(string prefixes)
    {
        var ex = Assert.Throws<ArgumentException>(() => UrlToken.Sign(Key, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"), prefixes));
        Assert.Contains(prefixes, ex.Message, StringComparison.Ordinal);
        Assert.False(UrlToken.IsPrefixList(prefixes));
    }

    /// <summary>A signed payload whose prefix list is malformed admits nobody (it cannot come from steering, which refuses to sign it).</summary>
    [Fact]
    public void AMalformedPrefixListInASignedToken_AdmitsNobody()
    {
        var expires = Now.AddMinutes(5).ToUnixTimeSeconds();
        var payload = Encoding.UTF8.GetBytes($"v1|{Key.KeyId}|{expires}|/v/t1/|198.51.100.0/24,,::/0");
        var token = System.Buffers.Text.Base64Url.EncodeToString(payload) + "." + System.Buffers.Text.Base64Url.EncodeToString(Key.Sign(payload));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(token, Ring, Now, "/v/t1/master.m3u8", IPAddress.Parse("198.51.100.7")));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(token, Ring, Now, "/v/t1/master.m3u8", IPAddress.Parse("2001:2::1")));
    }
}
