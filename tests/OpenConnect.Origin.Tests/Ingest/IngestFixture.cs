using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>Starts the real origin with a <see cref="RecordingIntake"/> (and optionally a fake clock) and speaks TUS to it.</summary>
public static class Ingest
{
    public static Task<RunningRole> StartAsync(string dataDirectory, IPipelineIntake? intake, TimeProvider? time = null, params string[] settings) =>
        RunningRole.StartAsync(
            args => OriginHost.Build(args, services =>
            {
                if (intake is not null)
                {
                    services.AddSingleton(intake);
                }

                if (time is not null)
                {
                    services.AddSingleton(time);
                }
            }),
            [$"--Origin:DataDirectory={dataDirectory}", "--Origin:Ingest:RequireToken=false", .. settings]);

    public static HttpRequestMessage Tus(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        return request;
    }

    public static async Task<string> CreateAsync(HttpClient client, long? length, string? metadata = null)
    {
        using var request = Tus(HttpMethod.Post, "/files/");
        if (length is { } l)
        {
            request.Headers.Add("Upload-Length", l.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            request.Headers.Add("Upload-Defer-Length", "1");
        }

        if (metadata is not null)
        {
            request.Headers.Add("Upload-Metadata", metadata);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.StartsWith("/files/", location);
        return location;
    }

    public static async Task<HttpResponseMessage> PatchAsync(HttpClient client, string url, long offset, byte[] body, Action<HttpRequestMessage>? configure = null)
    {
        using var request = Tus(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> HeadAsync(HttpClient client, string url)
    {
        using var request = Tus(HttpMethod.Head, url);
        return await client.SendAsync(request);
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    public static async Task<long> OffsetAsync(HttpClient client, string url)
    {
        using var head = await HeadAsync(client, url);
        Assert.Equal(System.Net.HttpStatusCode.OK, head.StatusCode);
        return long.Parse(Header(head, "Upload-Offset"), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>GET /api/uploads/{id}, as the upload's owner when <paramref name="token"/> is given (origins that require tokens show an upload only to its uploader and admins).</summary>
    public static Task<JsonElement> StatusAsync(HttpClient client, string url, string? token = null) =>
        GetJsonAsync(client, $"/api/uploads/{url[(url.LastIndexOf('/') + 1)..]}", token);

    /// <summary>GET of a JSON document, with a bearer token when given.</summary>
    public static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Polls the status API until the upload reaches <paramref name="state"/> (10 s at most).</summary>
    public static async Task<JsonElement> WaitForStateAsync(HttpClient client, string url, string state, Action? tick = null, string? token = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var status = await StatusAsync(client, url, token);
            if (status.GetProperty("state").GetString() == state)
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"upload {url} stayed in state {status.GetProperty("state").GetString()}, expected {state}");
            }

            tick?.Invoke();
            await Task.Delay(50);
        }
    }

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Meta(params (string Key, string Value)[] pairs) =>
        string.Join(",", pairs.Select(p => $"{p.Key} {Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(p.Value))}"));
}
