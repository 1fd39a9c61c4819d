using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Origin.Catalog.Notifications;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Catalog;

public abstract class NotificationTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task ASubscriber_HearsOfAPublish_InUnderOneSecond_OverSse()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (_, creator) = await origin.UserAsync("studio", "uploader");
        var (fan, _) = await origin.UserAsync("fan1");
        var (bystander, _) = await origin.UserAsync("bystander");
        await origin.SendAsync(HttpMethod.Put, $"/api/v1/channels/{creator.ChannelId}/subscription", fan);
        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "premiere", Status = TitleStatus.Processing, Title = "Premiere", ChannelId = creator.ChannelId }, CancellationToken.None);

        await using var fanStream = await SseStream.OpenAsync(origin, $"/api/v1/notifications/stream?access_token={fan}", null);
        await using var bystanderStream = await SseStream.OpenAsync(origin, "/api/v1/notifications/stream", bystander);

        var clock = Stopwatch.StartNew();
        await origin.PublishAsync("premiere", "Premiere", channelId: creator.ChannelId);
        var received = await fanStream.NextEventAsync(TimeSpan.FromSeconds(5));
        var elapsed = clock.Elapsed;

        Assert.NotNull(received);
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"notification took {elapsed.TotalMilliseconds:F0} ms");
        var notification = JsonSerializer.Deserialize<NotificationView>(received!.Value.Data, CatalogOrigin.Json)!;
        Assert.Equal("premiere", notification.TitleId);
        Assert.Equal(creator.ChannelId, notification.ChannelId);
        Assert.Equal("published", notification.Kind);
        Assert.Equal(notification.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), received.Value.Id);

        // A state change that is not a new publish notifies nobody; the bystander was never subscribed.
        await origin.PublishAsync("premiere", "Premiere (director's cut)", channelId: creator.ChannelId);
        Assert.Null(await fanStream.NextEventAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Null(await bystanderStream.NextEventAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task OfflineSubscribers_CatchUp_ByListOrByLastEventId()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (_, creator) = await origin.UserAsync("studio2", "uploader");
        var (fan, _) = await origin.UserAsync("fan2");
        await origin.SendAsync(HttpMethod.Put, $"/api/v1/channels/{creator.ChannelId}/subscription", fan);

        string firstId;
        await using (var stream = await SseStream.OpenAsync(origin, "/api/v1/notifications/stream", fan))
        {
            await origin.PublishAsync("ep1", "Episode 1", channelId: creator.ChannelId);
            firstId = (await stream.NextEventAsync(TimeSpan.FromSeconds(5)))!.Value.Id;
        }

        // Offline: two more episodes.
        await origin.PublishAsync("ep2", "Episode 2", channelId: creator.ChannelId);
        await origin.PublishAsync("ep3", "Episode 3", channelId: creator.ChannelId);

        var stored = await (await origin.SendAsync(HttpMethod.Get, "/api/v1/notifications", fan)).Content.ReadFromJsonAsync<Page<NotificationView>>(CatalogOrigin.Json);
        Assert.Equal(["ep1", "ep2", "ep3"], stored!.Items.Select(n => n.TitleId));
        var afterFirst = await (await origin.SendAsync(HttpMethod.Get, $"/api/v1/notifications?after={firstId}", fan)).Content.ReadFromJsonAsync<Page<NotificationView>>(CatalogOrigin.Json);
        Assert.Equal(["ep2", "ep3"], afterFirst!.Items.Select(n => n.TitleId));

        await using var resumed = await SseStream.OpenAsync(origin, "/api/v1/notifications/stream", fan, lastEventId: firstId);
        var replay = new[] { await resumed.NextEventAsync(TimeSpan.FromSeconds(5)), await resumed.NextEventAsync(TimeSpan.FromSeconds(5)) };
        Assert.Equal(["ep2", "ep3"], replay.Select(e => JsonSerializer.Deserialize<NotificationView>(e!.Value.Data, CatalogOrigin.Json)!.TitleId));
        await origin.PublishAsync("ep4", "Episode 4", channelId: creator.ChannelId);
        Assert.Contains("ep4", (await resumed.NextEventAsync(TimeSpan.FromSeconds(5)))!.Value.Data);

        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.Client.GetAsync("/api/v1/notifications/stream")).StatusCode);
        using var badId = CatalogOrigin.Request(HttpMethod.Get, "/api/v1/notifications/stream", fan);
        badId.Headers.Add("Last-Event-ID", "yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.SendAsync(badId)).StatusCode);
    }

    /// <summary>A minimal Server-Sent Events reader over a real HTTP connection.</summary>
    private protected sealed class SseStream : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;
        private Task<string?>? _pendingLine;

        private SseStream(HttpResponseMessage response, StreamReader reader)
        {
            _response = response;
            _reader = reader;
        }

        public static async Task<SseStream> OpenAsync(CatalogOrigin origin, string path, string? token, string? lastEventId = null)
        {
            var request = CatalogOrigin.Request(HttpMethod.Get, path, token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null)
            {
                request.Headers.Add("Last-Event-ID", lastEventId);
            }

            var response = await origin.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var stream = new SseStream(response, reader);
            // The server registers the listener before it sends its first comment.
            Assert.Equal("retry: 1000", await stream.ReadLineAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal(": connected", await stream.ReadLineAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal("", await stream.ReadLineAsync(TimeSpan.FromSeconds(5)));
            return stream;
        }

        /// <summary>The next event (id and data), or null when none arrives within <paramref name="timeout"/>.</summary>
        public async Task<(string Id, string Data)?> NextEventAsync(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            string? id = null, data = null;
            while (true)
            {
                var remaining = deadline - DateTime.UtcNow;
                var line = remaining > TimeSpan.Zero ? await ReadLineAsync(remaining) : null;
                if (line is null)
                {
                    return null;
                }

                if (line.Length == 0 && data is not null)
                {
                    return (id ?? "", data);
                }

                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line[6..];
                }
            }
        }

        private async Task<string?> ReadLineAsync(TimeSpan timeout)
        {
            _pendingLine ??= _reader.ReadLineAsync();
            var finished = await Task.WhenAny(_pendingLine, Task.Delay(timeout));
            if (finished != _pendingLine)
            {
                return null;
            }

            var line = await _pendingLine;
            _pendingLine = null;
            return line;
        }

        public ValueTask DisposeAsync()
        {
            _response.Dispose();
            _reader.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Notifications on SQLite.</summary>
public sealed class SqliteNotificationTests : NotificationTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;
}

/// <summary>Notifications on PostgreSQL, across origin instances sharing the database.</summary>
public sealed class PostgresNotificationTests : NotificationTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;

    [Fact]
    public async Task ASubscriberOfOneInstance_HearsOfAPublishOnAnother_InUnderOneSecond()
    {
        await using var database = await TestDatabase.CreateAsync();
        var settings = CatalogOrigin.PostgresSettings(database.ConnectionString);
        await using var publisher = await CatalogOrigin.StartAsync(settings);
        await using var other = await CatalogOrigin.StartAsync(settings);
        var (_, creator) = await publisher.UserAsync("studio3", "uploader");
        var (fan, _) = await publisher.UserAsync("fan3");
        Assert.Equal(HttpStatusCode.NoContent, (await publisher.SendAsync(HttpMethod.Put, $"/api/v1/channels/{creator.ChannelId}/subscription", fan)).StatusCode);

        await using var stream = await SseStream.OpenAsync(other, "/api/v1/notifications/stream", fan);
        for (var episode = 1; episode <= 3; episode++)
        {
            var clock = Stopwatch.StartNew();
            await publisher.PublishAsync($"remote{episode}", $"Remote episode {episode}", channelId: creator.ChannelId);
            var received = await stream.NextEventAsync(TimeSpan.FromSeconds(5));
            var elapsed = clock.Elapsed;

            Assert.NotNull(received);
            Assert.True(elapsed < TimeSpan.FromSeconds(1), $"notification {episode} took {elapsed.TotalMilliseconds:F0} ms");
            Assert.Equal($"remote{episode}", JsonSerializer.Deserialize<NotificationView>(received!.Value.Data, CatalogOrigin.Json)!.TitleId);
        }

        // The other instance's list shows the same rows: one database.
        var list = await other.SendAsync(HttpMethod.Get, "/api/v1/notifications", fan);
        Assert.Equal(3, (await list.Content.ReadFromJsonAsync<JsonElement>(CatalogOrigin.Json)).GetProperty("items").GetArrayLength());
    }
}
