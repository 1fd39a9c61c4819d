using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Tests;

/// <summary>v2 playback tokens: one MAC entry per verifier, each verifier holding only its own key.</summary>
public sealed class UrlTokenMacTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly Ed25519SigningKey Steering = Ed25519SigningKey.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly PlaybackMacKey X = PlaybackMacKey.Derive(Steering, "oca-x");
    private static readonly PlaybackMacKey Y = PlaybackMacKey.Derive(Steering, "oca-y");
    private static readonly PlaybackMacKey Origin = PlaybackMacKey.Derive(Steering, PlaybackMacKey.OriginVerifier);
    private static readonly IPAddress Client = IPAddress.Parse("198.51.100.7");

    /// <summary>Verifier (<c>x</c>, <c>y</c>, <c>origin</c>), token kind, expected result.</summary>
    [Theory]
    [InlineData("x", "x+origin", TokenCheck.Valid)]
    [InlineData("origin", "x+origin", TokenCheck.Valid)]
    [InlineData("y", "x+origin", TokenCheck.UnknownKey)]
    [InlineData("y", "x+y+origin", TokenCheck.Valid)]
    // Minted with X's key: X accepts it, Y and the origin do not.
    [InlineData("x", "minted-by-x", TokenCheck.Valid)]
    [InlineData("y", "minted-by-x", TokenCheck.UnknownKey)]
    [InlineData("origin", "minted-by-x", TokenCheck.UnknownKey)]
    // X forges an entry carrying Y's tag: the MAC does not verify under Y's key.
    [InlineData("y", "x-forges-y", TokenCheck.BadSignature)]
    // The payload of another title under entries made for t1.
    [InlineData("x", "tampered", TokenCheck.BadSignature)]
    [InlineData("x", "expired", TokenCheck.Expired)]
    [InlineData("x", "other-title", TokenCheck.WrongPath)]
    [InlineData("x", "other-client", TokenCheck.WrongClient)]
    [InlineData("x", "truncated-entry", TokenCheck.Malformed)]
    [InlineData("x", "no-entry", TokenCheck.Malformed)]
    public void Verify_AcceptsOnlyTheVerifiersOwnEntry(string verifier, string kind, TokenCheck expected)
    {
        var later = Now.AddMinutes(5);
        var t1 = UrlToken.TitlePrefix("t1");
        var token = kind switch
        {
            "x+origin" => UrlToken.SignMac([X, Origin], later, t1, "198.51.100.0/24,::/0"),
            "x+y+origin" => UrlToken.SignMac([X, Y, Origin], later, t1),
            "minted-by-x" => UrlToken.SignMac([X], later, t1),
            "x-forges-y" => Retag(UrlToken.SignMac([X], later, t1), Y.Tag),
            "tampered" => Payload(UrlToken.SignMac([X], later, UrlToken.TitlePrefix("t9"))) + Proof(UrlToken.SignMac([X], later, t1)),
            "expired" => UrlToken.SignMac([X], Now, t1),
            "other-title" => UrlToken.SignMac([X], later, UrlToken.TitlePrefix("t2")),
            "other-client" => UrlToken.SignMac([X], later, t1, "203.0.113.0/24"),
            "truncated-entry" => UrlToken.SignMac([X], later, t1)[..^4],
            "no-entry" => Payload(UrlToken.SignMac([X], later, t1)) + ".",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        var ring = new PlaybackMacKeyRing(verifier switch { "x" => X, "y" => Y, _ => Origin });

        Assert.Equal(expected, UrlToken.Verify(token, PublicKeyRing.Empty, ring, Now, "/v/t1/720p/seg-1.m4s", Client));
    }

    [Fact]
    public void V2Tokens_AreRefusedWithoutMacKeys_AndV1TokensStillVerifyWithThePublicKey()
    {
        var v2 = UrlToken.SignMac([X], Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        var v1 = UrlToken.Sign(Steering, Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        var ring = new PublicKeyRing([Steering.PublicKey]);

        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(v2, ring, Now, "/v/t1/a.m4s", Client));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(v2, ring, new PlaybackMacKeyRing(X), Now, "/v/t1/a.m4s", Client));
        // The transition: v1 verifies while the public key is configured, and is refused once it is removed.
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(v1, ring, new PlaybackMacKeyRing(X), Now, "/v/t1/a.m4s", Client));
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(v1, PublicKeyRing.Empty, new PlaybackMacKeyRing(X), Now, "/v/t1/a.m4s", Client));

        var grant = UrlToken.Peek(v2)!;
        Assert.Equal(UrlToken.MacKeyId, grant.KeyId);
        Assert.Equal("/v/t1/", grant.PathPrefix);
        Assert.Equal(Now.AddMinutes(5), grant.Expires);
    }

    [Fact]
    public void KeyRing_KeepsThePreviousKey_ForTokensIssuedBeforeARotation()
    {
        var next = PlaybackMacKey.Derive(Ed25519SigningKey.FromSeed(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray()), "oca-x");
        var before = UrlToken.SignMac([X], Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        var after = UrlToken.SignMac([next], Now.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        var ring = new PlaybackMacKeyRing(X);
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(after, PublicKeyRing.Empty, ring, Now, "/v/t1/a", Client));

        ring.Install(next);
        ring.Install(next);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(before, PublicKeyRing.Empty, ring, Now, "/v/t1/a", Client));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(after, PublicKeyRing.Empty, ring, Now, "/v/t1/a", Client));

        // A third key pushes out the first.
        ring.Install(Y);
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(before, PublicKeyRing.Empty, ring, Now, "/v/t1/a", Client));
        Assert.Equal(2, ring.Keys.Count);
    }

    [Fact]
    public void Keys_AreDistinctPerVerifier_Deterministic_AndRoundTripThroughFiles()
    {
        Assert.NotEqual(X.Tag, Y.Tag);
        Assert.False(X.Bytes.SequenceEqual(Y.Bytes));
        Assert.True(PlaybackMacKey.Derive(Steering, "oca-x").Bytes.SequenceEqual(X.Bytes));
        Assert.False(PlaybackMacKey.Derive(Ed25519SigningKey.Generate(), "oca-x").Bytes.SequenceEqual(X.Bytes));

        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var path = PlaybackMacKey.WriteOriginKeyFile(Steering, Path.Combine(dir.FullName, "keys", "origin.key"));
            Assert.True(PlaybackMacKey.Load(path).Bytes.SequenceEqual(Origin.Bytes));
            Assert.Null(PlaybackMacKey.DescribeFile(path));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            var bad = Path.Combine(dir.FullName, "bad.key");
            File.WriteAllText(bad, "not base64!");
            Assert.Contains("bad.key", PlaybackMacKey.DescribeFile(bad));
            var shortKey = Path.Combine(dir.FullName, "short.key");
            File.WriteAllText(shortKey, Convert.ToBase64String(new byte[16]));
            Assert.Contains("32 bytes", PlaybackMacKey.DescribeFile(shortKey));
            Assert.NotNull(PlaybackMacKey.DescribeFile(Path.Combine(dir.FullName, "absent.key")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A key's precomputed HMAC state is shared by every entry it makes: each entry, made one after
    /// another or from several threads at once, is still HMAC-SHA256 of its own payload truncated to 16 bytes.
    /// </summary>
    [Fact]
    public async Task Entries_AreTheTruncatedHmac_OneAfterAnother_AndConcurrently()
    {
        static byte[] Payload(int i) => System.Text.Encoding.UTF8.GetBytes($"v2|{1795000000 + i}|/v/title-{i}/|203.0.113.0/24,::/0");

        static void Check(PlaybackMacKey key, int i)
        {
            var payload = Payload(i);
            var entry = new byte[PlaybackMacKey.EntryLength];
            key.WriteEntry(payload, entry);
            Assert.Equal(key.Tag, BinaryPrimitives.ReadUInt32BigEndian(entry));
            var expected = System.Security.Cryptography.HMACSHA256.HashData(key.Bytes, payload)[..PlaybackMacKey.MacLength];
            Assert.Equal(expected, entry[PlaybackMacKey.TagLength..]);
            Assert.True(key.Verify(payload, expected));
            Assert.False(key.Verify(Payload(i + 1), expected));
        }

        var key = PlaybackMacKey.Derive(Steering, "oca-reuse");
        for (var i = 0; i < 50; i++)
        {
            Check(key, i);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                Check(key, (t * 10_000) + i);
            }
        })));
    }

    [Fact]
    public void SignMac_RefusesFieldsATokenCannotCarry()
    {
        Assert.Throws<ArgumentException>(() => UrlToken.SignMac([], Now, "/v/t1/"));
        Assert.Throws<ArgumentException>(() => UrlToken.SignMac(Enumerable.Repeat(X, UrlToken.MaxVerifiers + 1).ToArray(), Now, "/v/t1/"));
        Assert.Throws<ArgumentException>(() => UrlToken.SignMac([X], Now, "/v/t|1/"));
        Assert.Throws<ArgumentException>(() => UrlToken.SignMac([X], Now, "/v/t1/", "not-a-prefix"));

        // The largest token fits the signed-path limit.
        var widest = UrlToken.SignMac(Enumerable.Repeat(X, UrlToken.MaxVerifiers).ToArray(), Now, UrlToken.TitlePrefix(new string('t', 64)), "2001:db8:1234::/48,0.0.0.0/0");
        Assert.InRange(widest.Length, 1, UrlToken.MaxTokenLength);
        Assert.True(UrlToken.TrySplitSignedPath(UrlToken.SignedPath(widest, "/v/x/a.m4s"), out var token, out _));
        Assert.Equal(widest, token.ToString());
    }

    private static string Payload(string token) => token[..token.IndexOf('.')];

    private static string Proof(string token) => token[token.IndexOf('.')..];

    private static string Retag(string token, uint tag)
    {
        var dot = token.IndexOf('.');
        var entry = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        BinaryPrimitives.WriteUInt32BigEndian(entry, tag);
        return string.Concat(token.AsSpan(0, dot + 1), Base64Url.EncodeToString(entry));
    }
}
