using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using OpenConnect.Origin.Protection;

namespace OpenConnect.Origin.Tests.Protection;

/// <summary>Parsing the EME ClearKey license request and writing the license.</summary>
public sealed class LicenseRequestTests
{
    private static readonly byte[] Kid = Enumerable.Range(0xF0, 16).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData("{\"kids\":[\"8PHy8_T19vf4-fr7_P3-_w\"],\"type\":\"temporary\"}")]
    [InlineData("{\"kids\":[\"8PHy8_T19vf4-fr7_P3-_w\"]}")]
    [InlineData("{\"type\":\"temporary\",\"kids\":[\"8PHy8_T19vf4-fr7_P3-_w==\"]}")]
    public void AValidRequest_YieldsItsKeyIds(string body)
    {
        Assert.True(LicenseRequest.TryParse(Encoding.UTF8.GetBytes(body), out var kids, out var error), error);
        Assert.Equal(Kid, Assert.Single(kids));
    }

    [Theory]
    [InlineData("", "not JSON")]
    [InlineData("kids=1", "not JSON")]
    [InlineData("{\"kids\":[\"8PHy8_T19vf4-fr7_P3-_w\"]", "not JSON")]
    [InlineData("[]", "JSON object")]
    [InlineData("{}", "non-empty array")]
    [InlineData("{\"kids\":[]}", "non-empty array")]
    [InlineData("{\"kids\":\"8PHy8_T19vf4-fr7_P3-_w\"}", "non-empty array")]
    [InlineData("{\"kids\":[123]}", "not the base64url of 16 bytes")]
    [InlineData("{\"kids\":[\"!!!!!!!!!!!!!!!!!!!!!!\"]}", "not the base64url of 16 bytes")]
    [InlineData("{\"kids\":[\"8PHy8+T19vf4+fr7/P3+/w\"]}", "not the base64url of 16 bytes")]
    [InlineData("{\"kids\":[\"8PHy8_T19vf4-fr7_P3-\"]}", "not the base64url of 16 bytes")]
    [InlineData("{\"kids\":[\"8PHy8_T19vf4-fr7_P3-_w\"],\"type\":\"persistent-license\"}", "temporary")]
    [InlineData("{\"kids\":[\"8PHy8_T19vf4-fr7_P3-_w\"],\"type\":1}", "temporary")]
    public void ABadRequest_IsRefused_WithAMessage(string body, string expected)
    {
        Assert.False(LicenseRequest.TryParse(Encoding.UTF8.GetBytes(body), out var kids, out var error));
        Assert.Empty(kids);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void TooManyKeyIds_AreRefused()
    {
        var kids = string.Join(',', Enumerable.Repeat("\"8PHy8_T19vf4-fr7_P3-_w\"", LicenseRequest.MaxKeyIds + 1));
        Assert.False(LicenseRequest.TryParse(Encoding.UTF8.GetBytes($"{{\"kids\":[{kids}]}}"), out _, out var error));
        Assert.Contains($"at most {LicenseRequest.MaxKeyIds}", error);
    }

    [Fact]
    public void TheLicense_IsTheEmeJsonWebKeySet()
    {
        var key = new TitleKey(Kid, Enumerable.Range(1, 16).Select(i => (byte)i).ToArray());
        using var license = JsonDocument.Parse(LicenseRequest.WriteLicense([key]));
        Assert.Equal("temporary", license.RootElement.GetProperty("type").GetString());
        var jwk = Assert.Single(license.RootElement.GetProperty("keys").EnumerateArray().ToList());
        Assert.Equal("oct", jwk.GetProperty("kty").GetString());
        Assert.Equal("8PHy8_T19vf4-fr7_P3-_w", jwk.GetProperty("kid").GetString());
        Assert.Equal(key.Key, Base64Url.DecodeFromChars(jwk.GetProperty("k").GetString()));
        Assert.DoesNotContain("=", jwk.GetProperty("k").GetString(), StringComparison.Ordinal);
    }
}
