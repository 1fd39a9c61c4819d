using System.Net;
using OpenConnect.Contracts.Security;
using OpenConnect.Steering.Selection;
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

    [Theory]
    [InlineData("203.0.113.77", "203.0.113.0/24,::/0")]
    [InlineData("0.0.0.1", "0.0.0.0/24,::/0")]
    [InlineData("255.255.255.255", "255.255.255.0/24,::/0")]
    [InlineData("10.1.2.3", "10.1.2.0/24,::/0")]
    [InlineData("::ffff:198.51.100.200", "198.51.100.0/24,::/0")]
    [InlineData("2001:db8:1234:5678::9", "2001:db8:1234::/48,0.0.0.0/0")]
    [InlineData("::1", "::/48,0.0.0.0/0")]
    public void BindingFor_NamesTheClientPrefixAndTheOtherFamily(string client, string binding)
    {
        var address = IPAddress.Parse(client);
        Assert.Equal(binding, TokenIssuer.BindingFor(address));
        Assert.True(UrlToken.IsPrefixList(binding));
        Assert.True(UrlToken.InPrefixList(address, binding));
    }

    [Fact]
    public void Tokens_AreTheSameWithinAnExpiryBucket_PerTitleAndClientNetwork_AndVerify()
    {
        var key = Ed25519SigningKey.Generate();
        var issuer = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: true);
        var origin = new PlaybackMacKeyRing(issuer.OriginKey);

        var (token, expires) = issuer.Issue("t1", IPAddress.Parse("2001:db8:1:2::1"), Now);
        Assert.InRange(expires - Now, TimeSpan.FromHours(6), TimeSpan.FromHours(6) + TimeSpan.FromMinutes(6));
        Assert.Equal(0, expires.ToUnixTimeSeconds() % 360);
        Assert.Equal(token, issuer.Issue("t1", IPAddress.Parse("2001:db8:1:ffff::5"), Now + TimeSpan.FromSeconds(30)).Token);
        Assert.NotEqual(token, issuer.Issue("t2", IPAddress.Parse("2001:db8:1:2::1"), Now).Token);
        Assert.NotEqual(token, issuer.Issue("t1", IPAddress.Parse("2001:db8:2:2::1"), Now).Token);

        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, origin, Now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("2001:db8:1:9::9")));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(token, PublicKeyRing.Empty, origin, Now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("2001:db8:2::9")));

        var unbound = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: false).Issue("t1", IPAddress.Parse("198.51.100.1"), Now).Token;
        Assert.Null(UrlToken.Peek(unbound)!.ClientPrefix);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(unbound, PublicKeyRing.Empty, origin, Now, "/v/t1/master.m3u8", IPAddress.Parse("192.0.2.1")));
    }

    /// <summary>
    /// A decision's token names its appliances and the origin: each verifies with its own key only,
    /// an appliance outside the decision does not, and a token one appliance could mint with its key
    /// is refused by the others.
    /// </summary>
    [Theory]
    [InlineData("a1", TokenCheck.Valid)]
    [InlineData("a2", TokenCheck.Valid)]
    [InlineData("origin", TokenCheck.Valid)]
    [InlineData("a3", TokenCheck.UnknownKey)]
    public void DecisionTokens_VerifyOnTheNamedAppliancesAndTheOriginOnly(string verifier, TokenCheck expected)
    {
        var key = Ed25519SigningKey.Generate();
        var issuer = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: true);
        var client = IPAddress.Parse("203.0.113.9");
        var (token, _) = issuer.Issue("t1", client, Now, [View("a1"), View("a2")]);
        var ring = new PlaybackMacKeyRing(verifier == "origin" ? issuer.OriginKey : issuer.KeyFor(verifier));

        Assert.Equal(expected, UrlToken.Verify(token, PublicKeyRing.Empty, ring, Now, "/v/t1/r0/seg-00001.m4s", client));
        Assert.Equal(UrlToken.MacKeyId, UrlToken.Peek(token)!.KeyId);
    }

    [Fact]
    public void ApplianceKeys_AreTheirOwn_DerivedFromTheSigningKey_AndMintNothingForOthers()
    {
        var key = Ed25519SigningKey.Generate();
        var issuer = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: true);
        Assert.True(issuer.KeyFor("a1").Bytes.SequenceEqual(PlaybackMacKey.Derive(key, "a1").Bytes));
        Assert.True(new TokenIssuer(key, TimeSpan.FromHours(1), false).KeyFor("a1").Bytes.SequenceEqual(issuer.KeyFor("a1").Bytes));
        Assert.False(issuer.KeyFor("a1").Bytes.SequenceEqual(issuer.KeyFor("a2").Bytes));
        Assert.False(issuer.KeyFor("a1").Bytes.SequenceEqual(issuer.OriginKey.Bytes));

        // What appliance a1 could mint with the key it holds: a1 accepts it, a2 and the origin refuse it.
        var minted = UrlToken.SignMac([issuer.KeyFor("a1")], Now.AddHours(1), UrlToken.TitlePrefix("t1"));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(minted, PublicKeyRing.Empty, new PlaybackMacKeyRing(issuer.KeyFor("a1")), Now, "/v/t1/a", null));
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(minted, PublicKeyRing.Empty, new PlaybackMacKeyRing(issuer.KeyFor("a2")), Now, "/v/t1/a", null));
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(minted, PublicKeyRing.Empty, new PlaybackMacKeyRing(issuer.OriginKey), Now, "/v/t1/a", null));
    }

    [Fact]
    public void CachedTokens_DependOnTheAppliancesNamed()
    {
        var issuer = new TokenIssuer(Ed25519SigningKey.Generate(), TimeSpan.FromHours(6), bindToClient: true, cache: true);
        var client = IPAddress.Parse("203.0.113.9");
        var first = issuer.Issue("t1", client, Now, [View("a1"), View("a2")]).Token;
        Assert.Equal(first, issuer.Issue("t1", client, Now, [View("a1"), View("a2")]).Token);
        var other = issuer.Issue("t1", client, Now, [View("a1"), View("a3")]).Token;
        Assert.NotEqual(first, other);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(other, PublicKeyRing.Empty, new PlaybackMacKeyRing(issuer.KeyFor("a3")), Now, "/v/t1/a", client));
    }

    [Fact]
    public void Ed25519Format_IssuesV1Tokens_ThatVerifyWithThePublicKey()
    {
        var key = Ed25519SigningKey.Generate();
        var issuer = new TokenIssuer(key, TimeSpan.FromHours(6), bindToClient: false, format: PlaybackTokenFormat.Ed25519);
        var (token, _) = issuer.Issue("t1", null, Now, [View("a1")]);
        Assert.Equal(key.KeyId, UrlToken.Peek(token)!.KeyId);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, new PublicKeyRing([key.PublicKey]), Now, "/v/t1/a", null));
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(token, PublicKeyRing.Empty, new PlaybackMacKeyRing(issuer.KeyFor("a1")), Now, "/v/t1/a", null));
    }

    private static ApplianceView View(string id) =>
        new(id, "s1", $"http://{id}.example:8400", 1_000_000_000, 100, new ApplianceStatus(Now, 0, 0, true, false, ApplianceStatus.NoTitles));
}
