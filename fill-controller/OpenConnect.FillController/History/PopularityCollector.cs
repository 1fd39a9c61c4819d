using System.Net;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Discovery;
using OpenConnect.FillController.Fleet;

namespace OpenConnect.FillController.History;

/// <summary>
/// Every <see cref="FillControllerOptions.CollectInterval"/>, copies steering's play counts
/// (<c>GET /history/plays</c>) and the origin's view counters (<c>GET /api/v1/titles</c>, all pages)
/// into the <see cref="PopularityStore"/>, then drops history older than the forecast reads.
/// Collecting is idempotent: counts are stored as absolute values per key. Steering serves its
/// history on its control listener (<c>FillController:Fill:SteeringControlUrl</c>) to the fill
/// controller's fleet certificate (HTTP/2, mutual TLS, steering checked as <c>openconnect://steering</c>);
/// a refusal fails the collection with the status and what to fix.
/// </summary>
public sealed partial class PopularityCollector(
    IHttpClientFactory httpFactory,
    ServiceDirectory directory,
    FleetCredentials credentials,
    PopularityStore store,
    TimeProvider time,
    IOptions<FillControllerOptions> options,
    ILogger<PopularityCollector> logger) : BackgroundService
{
    /// <summary>Name of the HTTP client the collector and <c>RenditionSizes</c> use.</summary>
    public const string HttpClientName = "popularity";

    private const int PageSize = 100;

    private readonly HttpClient _http = httpFactory.CreateClient(HttpClientName);
    private readonly RenewingClient<HttpClient> _steering = new(credentials, handler =>
    {
        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        return (client, client);
    });

    /// <summary>Completed collections (for tests and <c>/healthz</c>).</summary>
    public long Collections { get; private set; }

    /// <summary>Collects once: steering's plays for the retained days, the origin's counters as of today.</summary>
    public async Task CollectAsync(CancellationToken cancellationToken)
    {
        await directory.Resolved.WaitAsync(cancellationToken).ConfigureAwait(false);
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var since = today.AddDays(-options.Value.Forecast.HistoryDays - 1);
        var origin = directory.Origin ?? throw new InvalidOperationException("the origin's address is not resolved");

        // Every steering replica counts the plays it answered: read each (stored per instance, so they
        // add up). One that cannot be reached keeps its last figures; only when none answers does the
        // collection fail.
        var playCount = 0;
        var failures = new List<string>();
        var replicas = options.Value.Fill.SteeringReplicas;
        foreach (var replica in replicas)
        {
            PlayHistoryResponse plays;
            try
            {
                plays = await ReadPlaysAsync(new Uri(new Uri(replica), $"/history/plays?since={PopularityStore.Day(since)}"), cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (replicas.Count > 1)
            {
                failures.Add($"{replica}: {ex.Message}");
                continue;
            }

            store.UpsertPlays(plays.Instance, plays.Plays.Select(p => new PlayCount(p.Site, p.Title, PopularityStore.ParseDay(p.Day), p.Plays)));
            playCount += plays.Plays.Count;
        }

        if (failures.Count == replicas.Count)
        {
            throw new HttpRequestException($"no steering replica served its play history ({string.Join("; ", failures)})");
        }

        var views = new List<ViewCount>();
        string? cursor = null;
        while (true)
        {
            var url = $"/api/v1/titles?limit={PageSize}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var response = await _http.GetAsync(new Uri(origin, url), cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                // The catalog's per-client limit: wait a second and carry on with the same page.
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            response.EnsureSuccessStatusCode();
            var page = await response.Content.ReadFromJsonAsync<TitlePage>(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException("the origin's title list is empty");
            views.AddRange(page.Items.Select(t => new ViewCount(t.Id, t.Views, t.PublishedAt)));
            cursor = page.NextCursor;
            if (cursor is null)
            {
                break;
            }
        }

        store.UpsertViews(today, views);
        store.Prune(since);
        Collections++;
        Collected(logger, playCount, views.Count);
    }

    private async Task<PlayHistoryResponse> ReadPlaysAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url) { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await _steering.Get(FleetIdentity.Steering).SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"steering answered {(int)response.StatusCode} ({response.StatusCode}) to GET {url.AbsolutePath} on its control listener "
                + $"({FillControllerOptions.SectionName}:Fill:SteeringControlUrl): it serves the play history to the {FleetIdentity.FillController} certificate "
                + $"({FillControllerOptions.SectionName}:Fleet:CertificateFile '{credentials.CertificateFile}'){(body.Length > 0 ? ": " + body : "")}");
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<PlayHistoryResponse>(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("steering's play history is empty");
    }

    public override void Dispose()
    {
        _steering.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CollectAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or InvalidDataException or System.Text.Json.JsonException or InvalidOperationException or TaskCanceledException)
            {
                CollectFailed(logger, e.Message);
            }

            try
            {
                await Task.Delay(options.Value.CollectInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Collected {Plays} play counts from steering and {Titles} view counters from the origin")]
    private static partial void Collected(ILogger logger, int plays, int titles);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Collecting play history failed, retrying at the next interval: {Reason}")]
    private static partial void CollectFailed(ILogger logger, string reason);

    private sealed record PlayHistoryResponse(string Instance, IReadOnlyList<PlayRow> Plays);

    private sealed record PlayRow(string Site, string Title, string Day, long Plays);

    private sealed record TitlePage(IReadOnlyList<TitleRow> Items, string? NextCursor);

    private sealed record TitleRow(string Id, long Views, DateTimeOffset? PublishedAt);
}
