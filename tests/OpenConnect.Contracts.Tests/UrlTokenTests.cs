using System.Net;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Tests;

public sealed class UrlTokenTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly Ed25519SigningKey Key = Ed25519SigningKey.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly Ed25519SigningKey OtherKey = Ed25519SigningKey.FromSeed(Enumerable.Range(2, 32).Select(i => (byte)i).ToArray());
    private static readonly PublicKeyRing Ring = new([Key.PublicKey]);

    [Theory]
    [InlineData("/v/t1/master.m3u8", null, "198.51.100.7", TokenCheck.Valid)]
    [InlineData("/v/t1/720p/seg-00001.m4s", null, "198.51.100.7", TokenCheck.Valid)]
    [InlineData("/v/t2/master.m3u8", null, "198.51.100.7", TokenCheck.WrongPath)]
    [InlineData("/v/t10/master.m3u8", null, "198.51.100.7", TokenCheck.WrongPath)]
    [InlineData("/v/t1/master.m3u8", "198.51.100.0/24", "198.51.100.7", TokenCheck.Valid)]
    [InlineData("/v/t1/master.m3u8", "198.51.100.0/24", "::ffff:198.51.100.7", TokenCheck.Valid)]
    [InlineData("/v/t1/master.m3u8", "198.51.100.0/24", "198.51.101.7", TokenCheck.WrongClient)]
    [InlineData("/v/t1/master.m3u8", "2001:db8:10::/44", "2001:db8:1f::1", TokenCheck.Valid)]
    [InlineData("/v/t1/master.m3u8", "2001:db8:10::/44", "2001:db8:20::1", TokenCheck.WrongClient)]
    [InlineData("/v/t1/master.m3u8", "2001:db8:10::/44", "198.51.100.7", TokenCheck.WrongClient)]
    public void Verify_ChecksPathAndClient(string path, string? clientPrefix, string client, TokenCheck expected)
    {
        var token = UrlToken.Sign(Key, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"), clientPrefix);
        Assert.Equal(expected, UrlToken.Verify(token, Ring, Now, path, IPAddress.Parse(client)));
    }

    [Fact]
    public void Verify_RejectsExpiredTamperedForeignAndMissingTokens()
    {
        var token = UrlToken.Sign(Key, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        var client = IPAddress.Loopback;
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, Ring, Now.AddMinutes(5).AddSeconds(-1), "/v/t1/a.m4s", client));
        Assert.Equal(TokenCheck.Expired, UrlToken.Verify(token, Ring, Now.AddMinutes(5), "/v/t1/a.m4s", client));
        Assert.Equal(TokenCheck.Missing, UrlToken.Verify("", Ring, Now, "/v/t1/a.m4s", client));
        Assert.Equal(TokenCheck.Malformed, UrlToken.Verify("abc", Ring, Now, "/v/t1/a.m4s", client));
        Assert.Equal(TokenCheck.Malformed, UrlToken.Verify("!!.??", Ring, Now, "/v/t1/a.m4s", client));

        // Re-sign the payload of another grant (t2) under the first token's signature: tampered.
        var other = UrlToken.Sign(Key, Now.AddMinutes(5), UrlToken.TitlePrefix("t2"));
        var tampered = other[..other.IndexOf('.')] + token[token.IndexOf('.')..];
        Assert.Equal(TokenCheck.BadSignature, UrlToken.Verify(tampered, Ring, Now, "/v/t2/a.m4s", client));

        // A longer expiry with the old signature: tampered.
        var longer = UrlToken.Sign(Key, Now.AddDays(5), UrlToken.TitlePrefix("t1"));
        Assert.Equal(TokenCheck.BadSignature, UrlToken.Verify(longer[..longer.IndexOf('.')] + token[token.IndexOf('.')..], Ring, Now, "/v/t1/a.m4s", client));

        // Signed by a key the ring does not hold.
        var foreign = UrlToken.Sign(OtherKey, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(foreign, Ring, Now, "/v/t1/a.m4s", client));

        // Rotation: a ring holding both keys accepts both.
        var both = new PublicKeyRing([Key.PublicKey, OtherKey.PublicKey]);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(foreign, both, Now, "/v/t1/a.m4s", client));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, both, Now, "/v/t1/a.m4s", client));
    }

    [Fact]
    public void SignedPaths_SplitIntoTokenAndContentPath()
    {
        var token = UrlToken.Sign(Key, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        var path = UrlToken.SignedPath(token, "/v/t1/720p/seg-00001.m4s");
        Assert.True(UrlToken.TrySplitSignedPath(path, out var t, out var content));
        Assert.Equal(token, t.ToString());
        Assert.Equal("/v/t1/720p/seg-00001.m4s", content.ToString());
        Assert.False(UrlToken.TrySplitSignedPath("/v/t1/master.m3u8", out _, out _));
        Assert.False(UrlToken.TrySplitSignedPath("/s//v/t1/master.m3u8", out _, out _));
        Assert.Equal("t1", UrlToken.Peek(t)?.PathPrefix.Split('/')[2]);
        Assert.Equal(Key.KeyId, UrlToken.Peek(t)?.KeyId);
    }

    [Fact]
    public void Keys_RoundTripThroughFiles_AndRejectBadText()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var path = Path.Combine(dir.FullName, "keys", "k.key");
            var created = Ed25519SigningKey.LoadOrCreate(path);
            var loaded = Ed25519SigningKey.LoadOrCreate(path);
            Assert.Equal(created.KeyId, loaded.KeyId);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            Assert.Equal(created.KeyId, Ed25519PublicKey.Parse(created.PublicKey.ToString()).KeyId);
            File.WriteAllText(path, "not base64!");
            Assert.Throws<FormatException>(() => Ed25519SigningKey.LoadOrCreate(path));
            Assert.Throws<FormatException>(() => Ed25519PublicKey.Parse("AAAA"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
