using System.Net;
using System.Net.Http.Headers;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;
using static OpenConnect.Origin.Tests.Ingest.Uploaders;

namespace OpenConnect.Origin.Tests.Ingest;

public sealed class UploaderRevocationTests
{
    [Fact]
    public async Task AnUploadUnderWay_StopsWhenTheAdminRevokesItsOwnersUploaderRole_AndGoesOnWhenGrantedAgain()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartWithTokensAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null);
        using var client = origin.CreateClient();
        var (ann, annId) = await UploaderAsync(client, "ann");
        var url = await CreateAsync(client, ann, 200);
        using (var first = await PatchAsync(client, url, 0, RandomBytes(100)))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        var admin = await AdminTokenAsync(client);
        using (var revoke = await AsAsync(client, HttpMethod.Delete, $"/api/v1/users/{annId}/uploader", admin))
        {
            Assert.True(revoke.IsSuccessStatusCode, $"revoke answered {(int)revoke.StatusCode}");
        }

        using (var refused = await PatchAsync(client, url, 100, RandomBytes(100)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("may no longer upload", await ErrorAsync(refused), StringComparison.Ordinal);
        }

        Assert.Equal(100, await OffsetAsync(client, url));

        using (var grant = await AsAsync(client, HttpMethod.Put, $"/api/v1/users/{annId}/uploader", admin))
        {
            Assert.True(grant.IsSuccessStatusCode, $"grant answered {(int)grant.StatusCode}");
        }

        using var rest = await PatchAsync(client, url, 100, RandomBytes(100));
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
    }

    private static Task<HttpResponseMessage> AsAsync(HttpClient client, HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }
}
