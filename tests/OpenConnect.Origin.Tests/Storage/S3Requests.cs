using System.Net;
using System.Text;
using Amazon.Runtime;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>
/// The HTTP requests an S3 client sends (method, path and query, <c>Range</c> header), recorded on
/// their way to the real server; a request whose path ends with <see cref="FailPathEnding"/> is
/// answered 403 AccessDenied instead, as a server refusing one upload would.
/// </summary>
internal sealed class S3Requests : HttpClientFactory
{
    private readonly List<string> _sent = [];

    public string? FailPathEnding { get; set; }

    public IReadOnlyList<string> Sent
    {
        get
        {
            lock (_sent)
            {
                return [.. _sent];
            }
        }
    }

    public void Clear()
    {
        lock (_sent)
        {
            _sent.Clear();
        }
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Recorder(this) { InnerHandler = new SocketsHttpHandler() });

    private sealed class Recorder(S3Requests owner) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var range = request.Headers.Range is { } r ? " " + r : "";
            lock (owner._sent)
            {
                owner._sent.Add($"{request.Method} {request.RequestUri!.PathAndQuery}{range}");
            }

            if (owner.FailPathEnding is { } ending && request.RequestUri.AbsolutePath.EndsWith(ending, StringComparison.Ordinal))
            {
                const string Body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>refused by the test</Message></Error>";
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Forbidden) { Content = new StringContent(Body, Encoding.UTF8, "application/xml"), RequestMessage = request });
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
