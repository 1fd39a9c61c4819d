using System.Net;
using OpenConnect.Contracts.Security;
using OpenConnect.Steering.Signing;

namespace OpenConnect.Steering.Tests;

public sealed class TokenIssuerTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 7, TimeSpan.Zero);

    [Theory]
    [InlineData("203.0.113.77", "203.0.113.0/24")]
    [InlineData("::ffff:203.0.113.77", "203.0.113.0/24")]
    [InlineData("2001:db8:1234:5678::9", "2001:db8:1234::/48")]
    public void ClientPrefix_IsTheSlash24OrSlash48(string client, string prefix)
    {
        Assert.Equal(prefix, TokenIssuer.ClientPrefix(IPAddress.Parse(client)));
    }

    [Fact]
    public void Tokens_AreReusedWithinAnExpiryBucket_PerTitleAndClientNetwork_AndVerify()
    {
        var key = Ed25519SigningKey.Generate();
        var issuer = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: true);
        var ring = new PublicKeyRing([key.PublicKey]);

        var (token, expires) = issuer.Issue("t1", IPAddress.Parse("2001:db8:1:2::1"), Now);
        Assert.InRange(expires - Now, TimeSpan.FromHours(6), TimeSpan.FromHours(6) + TimeSpan.FromMinutes(6));
        Assert.Equal(0, expires.ToUnixTimeSeconds() % 360);
        Assert.Equal(token, issuer.Issue("t1", IPAddress.Parse("2001:db8:1:ffff::5"), Now + TimeSpan.FromSeconds(30)).Token);
        Assert.NotEqual(token, issuer.Issue("t2", IPAddress.Parse("2001:db8:1:2::1"), Now).Token);
        Assert.NotEqual(token, issuer.Issue("t1", IPAddress.Parse("2001:db8:2:2::1"), Now).Token);

        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, ring, Now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("2001:db8:1:9::9")));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(token, ring, Now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("2001:db8:2::9")));

        var unbound = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: false).Issue("t1", IPAddress.Parse("198.51.100.1"), Now).Token;
        Assert.Null(UrlToken.Peek(unbound)!.ClientPrefix);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(unbound, ring, Now, "/v/t1/master.m3u8", IPAddress.Parse("192.0.2.1")));
    }
}
