using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Web;

/// <summary>
/// Reads the fleet for the operator page with the origin's fleet certificate (<c>Origin:Fleet</c>):
/// steering's roster (<c>GET /fleet/roster</c> on <see cref="WebAppOptions.FleetSteeringUrl"/>) and
/// the fill controller's sites (<c>GET /fill/sites</c> on <see cref="WebAppOptions.FleetFillControllerUrl"/>).
/// Both services let the origin's identity read these and nothing else; each server must present
/// the fleet certificate of the service expected there. A failure becomes a one-line reason for
/// the page, never an exception.
/// </summary>
public sealed class FleetStatusReader : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly Lazy<HttpClient>? _steering;
    private readonly Lazy<HttpClient>? _fill;

    public FleetStatusReader(IOptions<OriginOptions> options, IServiceProvider services)
    {
        var web = options.Value.Web;
        // The credentials are resolved at the first read: without fleet URLs the origin needs none.
        var credentials = new Lazy<FleetTlsCredentials>(services.GetRequiredService<FleetTlsCredentials>);
        _steering = web.FleetSteeringUrl.Length == 0 ? null : new(() => Client(web.FleetSteeringUrl, credentials, FleetIdentity.Steering));
        _fill = web.FleetFillControllerUrl.Length == 0 ? null : new(() => Client(web.FleetFillControllerUrl, credentials, FleetIdentity.FillController));
    }

    /// <summary>Steering's roster and the fill controller's sites, each as JSON or the reason it is missing.</summary>
    public async Task<FleetView> ReadAsync(CancellationToken cancellationToken)
    {
        var steering = ReadAsync(_steering, "/fleet/roster", "Origin:Web:FleetSteeringUrl", cancellationToken);
        var fill = ReadAsync(_fill, "/fill/sites", "Origin:Web:FleetFillControllerUrl", cancellationToken);
        var (roster, rosterError) = await steering.ConfigureAwait(false);
        var (sites, fillError) = await fill.ConfigureAwait(false);
        return new FleetView(roster, rosterError, sites, fillError);
    }

    private static async Task<(JsonElement? Body, string? Error)> ReadAsync(Lazy<HttpClient>? client, string path, string setting, CancellationToken cancellationToken)
    {
        if (client is null)
        {
            return (null, $"{setting} is not set");
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await client.Value.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"{client.Value.BaseAddress} answered {(int)response.StatusCode} {response.ReasonPhrase}: {(body.Length > 200 ? body[..200] : body)}");
            }

            using var document = JsonDocument.Parse(body);
            return (document.RootElement.Clone(), null);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var reason = e is TaskCanceledException ? $"no answer within {Timeout.TotalSeconds:0} s" : Innermost(e);
            return (null, $"{client.Value.BaseAddress} could not be read: {reason}");
        }
    }

    private static HttpClient Client(string url, Lazy<FleetTlsCredentials> credentials, FleetIdentity server)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = FleetTlsCredentials.ClientOptions(() => credentials.Value, identity => identity == server, (_, _) => { }),
            ConnectTimeout = Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        return new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = Timeout };
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    public void Dispose()
    {
        if (_steering is { IsValueCreated: true })
        {
            _steering.Value.Dispose();
        }

        if (_fill is { IsValueCreated: true })
        {
            _fill.Value.Dispose();
        }
    }
}

/// <summary>What the operator page shows: steering's roster and the fill controller's sites (null with the reason when unavailable).</summary>
public sealed record FleetView(JsonElement? Roster, string? RosterError, JsonElement? Fill, string? FillError);
