using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Tests.Catalog;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// Uploads as users: starts the real origin requiring bearer tokens (optionally with an intake
/// double and a fake clock), makes uploader accounts and speaks TUS with their tokens, from a chosen
/// loopback address when a test needs several clients.
/// </summary>
public static class Uploaders
{
    public static Task<RunningRole> StartWithTokensAsync(string dataDirectory, IPipelineIntake? intake, TimeProvider? time, params string[] settings)
    {
        // The built-in admin makes uploaders (an invite per account), as an operator would.
        Directory.CreateDirectory(dataDirectory);
        var adminPasswordFile = Path.Combine(dataDirectory, "admin.password");
        File.WriteAllText(adminPasswordFile, CatalogOrigin.AdminPassword + "\n");
        return RunningRole.StartAsync(
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
            [$"--Origin:DataDirectory={dataDirectory}", .. CatalogOrigin.FastSettings, $"--Origin:Catalog:AdminPasswordFile={adminPasswordFile}", .. settings]);
    }

    /// <summary>
    /// Makes an account that may upload and logs it in: the bearer token and the user id. The only
    /// place these tests make uploaders: the admin creates an invite code and the account registers
    /// with it.
    /// </summary>
    public static async Task<(string Token, string UserId)> UploaderAsync(HttpClient client, string name)
    {
        var (admin, _) = await LoginAsync(client, AccountStore.AdminName, CatalogOrigin.AdminPassword);
        using var invite = new HttpRequestMessage(HttpMethod.Post, "/api/v1/invites") { Content = JsonContent.Create(new { }) };
        invite.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        using var created = await client.SendAsync(invite);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var code = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString();
        using var register = await client.PostAsJsonAsync("/api/v1/auth/register", new { name, password = "correct horse battery", invite = code });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        return await LoginAsync(client, name, "correct horse battery");
    }

    /// <summary>The built-in admin's bearer token.</summary>
    public static async Task<string> AdminTokenAsync(HttpClient client) =>
        (await LoginAsync(client, AccountStore.AdminName, CatalogOrigin.AdminPassword)).Token;

    private static async Task<(string Token, string UserId)> LoginAsync(HttpClient client, string name, string password)
    {
        using var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { name, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var result = JsonDocument.Parse(await login.Content.ReadAsStringAsync()).RootElement;
        return (result.GetProperty("token").GetString()!, result.GetProperty("user").GetProperty("id").GetString()!);
    }

    /// <summary>POST /files/ with the token (when given), a length (or deferred), and a concatenation header.</summary>
    public static Task<HttpResponseMessage> PostAsync(HttpClient client, string? token, long? length, string? concat = null)
    {
        var request = Ingest.Tus(HttpMethod.Post, "/files/");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (length is { } l)
        {
            request.Headers.Add("Upload-Length", l.ToString(CultureInfo.InvariantCulture));
        }
        else if (concat is null || !concat.StartsWith("final;", StringComparison.Ordinal))
        {
            request.Headers.Add("Upload-Defer-Length", "1");
        }

        if (concat is not null)
        {
            request.Headers.Add("Upload-Concat", concat);
        }

        return client.SendAsync(request);
    }

    /// <summary>Creates an upload that must be accepted; returns its URL.</summary>
    public static async Task<string> CreateAsync(HttpClient client, string token, long length, string? concat = null)
    {
        using var response = await PostAsync(client, token, length, concat);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"creation answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response.Headers.Location!.OriginalString;
    }

    /// <summary>Creates an upload of <paramref name="length"/> random bytes and sends them all; returns its URL.</summary>
    public static async Task<string> UploadAsync(HttpClient client, string token, int length)
    {
        var url = await CreateAsync(client, token, length);
        using var patch = await Ingest.PatchAsync(client, url, 0, Ingest.RandomBytes(length));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        return url;
    }

    /// <summary>The <c>error</c> of a JSON error body.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
    }

    /// <summary>A client whose connections come from <paramref name="localAddress"/> (any of 127.0.0.0/8 on Linux), so the origin sees another client address.</summary>
    public static HttpClient ClientFrom(RunningRole role, string localAddress)
    {
        var local = IPAddress.Parse(localAddress);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = role.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }
}
