using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.Cli.Operator;

/// <summary>
/// HTTP/2 over mutual TLS to one fleet service with the operator's certificate, accepting only a
/// server whose fleet certificate names an identity the caller expects. Every failure becomes a
/// <see cref="CliFailure"/> with one line and its own exit code.
/// </summary>
public sealed class FleetClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _service;
    private string? _serverRefused;

    /// <param name="service">The service's base address (https://).</param>
    /// <param name="credentials">The operator's certificate and fleet CA.</param>
    /// <param name="accepts">Which server identities are accepted.</param>
    /// <param name="timeout">How long one call may take, connecting included.</param>
    public FleetClient(Uri service, OperatorCredentials credentials, Func<FleetIdentity, bool> accepts, TimeSpan timeout)
    {
        if (service.Scheme != Uri.UriSchemeHttps)
        {
            throw new CliFailure(ExitCodes.Usage, $"'{service}' must be an https:// URL: fleet control listeners take mutual TLS only");
        }

        _service = service;
        var handler = new SocketsHttpHandler
        {
            SslOptions = credentials.ClientOptions(accepts, problem => _serverRefused = problem),
            ConnectTimeout = timeout,
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = service,
            Timeout = timeout,
        };
    }

    /// <summary>Runs one gRPC call on a channel over the same connection settings, mapping its failures like the HTTP calls'.</summary>
    /// <exception cref="CliFailure">Unreachable, handshake refused, permission denied, or another gRPC error.</exception>
    public async Task<T> CallGrpcAsync<T>(string name, Func<GrpcChannel, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(_service, new GrpcChannelOptions { HttpClient = _http, DisposeHttpClient = false });
        try
        {
            return await call(channel, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.Status.DebugException is HttpRequestException inner)
        {
            throw Describe(inner);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated)
        {
            throw new CliFailure(ExitCodes.Forbidden, $"{name}: {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded || (ex.StatusCode == StatusCode.Cancelled && !cancellationToken.IsCancellationRequested))
        {
            throw new CliFailure(ExitCodes.Unreachable, $"{_service}: unreachable: no answer within {_http.Timeout.TotalSeconds:0} s", ex);
        }
        catch (RpcException ex)
        {
            throw new CliFailure(_serverRefused is null ? ExitCodes.ServiceError : ExitCodes.HandshakeRefused, _serverRefused is { } refused ? $"{_service}: TLS handshake refused: {refused}" : $"{name}: {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
    }

    /// <summary>Sends <paramref name="method"/> to <paramref name="path"/> and returns the JSON answer of a 2xx response.</summary>
    /// <exception cref="CliFailure">Unreachable, handshake refused, 401/403, another status, or not JSON.</exception>
    /// <param name="method">The HTTP method.</param>
    /// <param name="path">The path on the service.</param>
    /// <param name="cancellationToken">Ends the call.</param>
    /// <param name="token">A bearer token to send (steering's operator token), or null.</param>
    /// <param name="content">A JSON body, or null.</param>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, CancellationToken cancellationToken, string? token = null, object? content = null)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, path) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            if (content is not null)
            {
                request.Content = System.Net.Http.Json.JsonContent.Create(content);
            }

            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Describe(ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliFailure(ExitCodes.Unreachable, $"{_service}: unreachable: no answer within {_http.Timeout.TotalSeconds:0} s", ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new CliFailure(ExitCodes.Forbidden, $"{method} {path}: {(int)response.StatusCode} {response.ReasonPhrase}: {ErrorOf(body)}");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new CliFailure(ExitCodes.ServiceError, $"{method} {path}: {(int)response.StatusCode} {response.ReasonPhrase}: {ErrorOf(body)}");
            }

            try
            {
                using var document = JsonDocument.Parse(body);
                return document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new CliFailure(ExitCodes.ServiceError, $"{method} {path}: the answer is not JSON: {ex.Message}", ex);
            }
        }
    }

    private CliFailure Describe(HttpRequestException ex)
    {
        if (_serverRefused is { } refused)
        {
            return new CliFailure(ExitCodes.HandshakeRefused, $"{_service}: TLS handshake refused: {refused}", ex);
        }

        return ex.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => new CliFailure(ExitCodes.Unreachable, $"{_service}: unreachable: the host name does not resolve", ex),
            HttpRequestError.ConnectionError when ex.InnerException is SocketException socket => new CliFailure(ExitCodes.Unreachable, $"{_service}: unreachable: {socket.Message}", ex),
            HttpRequestError.SecureConnectionError => new CliFailure(ExitCodes.HandshakeRefused, $"{_service}: TLS handshake refused: {Innermost(ex)}", ex),
            _ when ex.InnerException is AuthenticationException => new CliFailure(ExitCodes.HandshakeRefused, $"{_service}: TLS handshake refused: {Innermost(ex)}", ex),
            // TLS 1.3: the server checks the client certificate after the client has finished its
            // side of the handshake, so a refusal shows as the connection closing on the first request.
            HttpRequestError.ResponseEnded or HttpRequestError.HttpProtocolError or HttpRequestError.Unknown =>
                new CliFailure(ExitCodes.HandshakeRefused, $"{_service}: the server closed the connection right after the TLS handshake, as it does when it refuses the client certificate ({Innermost(ex)})", ex),
            _ => new CliFailure(ExitCodes.Unreachable, $"{_service}: unreachable: {Innermost(ex)}", ex),
        };
    }

    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex.Message;
    }

    private static string ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            // {error} from the fleet gates, a problem document's detail (or title) from the endpoints.
            foreach (var name in (ReadOnlySpan<string>)["error", "detail", "title"])
            {
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var message) && message.ValueKind == JsonValueKind.String)
                {
                    return message.GetString()!;
                }
            }
        }
        catch (JsonException)
        {
        }

        return body.Length == 0 ? "(empty answer)" : body.Length > 300 ? body[..300] + "…" : body;
    }

    public void Dispose() => _http.Dispose();
}
