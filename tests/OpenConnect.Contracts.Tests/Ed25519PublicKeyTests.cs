using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Tests;

public sealed class Ed25519PublicKeyTests
{
    [Fact]
    public void AKeyFromASigningKey_ParsesAndKeepsItsId()
    {
        var directory = Path.Combine(Path.GetTempPath(), "openconnect-ed25519-" + Guid.NewGuid().ToString("N"));
        try
        {
            var signing = Ed25519SigningKey.LoadOrCreate(Path.Combine(directory, "k.key"));
            var parsed = Ed25519PublicKey.Parse(signing.PublicKey.ToString());
            Assert.Equal(signing.PublicKey.KeyId, parsed.KeyId);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("//////////////////////////////////////////8=")] // 32 bytes, y beyond the field: no point
    [InlineData("AAAA")] // 3 bytes
    [InlineData("not base64!")]
    public void WhatIsNotAKey_IsAFormatError_NotACrash(string text) =>
        Assert.Throws<FormatException>(() => Ed25519PublicKey.Parse(text));
}
