using System.Net;
using System.Net.Http.Json;
using Npgsql;
using OpenConnect.Origin.Catalog.Social;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>Two origin instances on one PostgreSQL catalog rating one title at once: the counters match the rating rows.</summary>
public sealed class SharedRatingTests
{
    [Fact]
    public async Task RatingsCommittedTogetherOnTwoInstances_AreBothCounted()
    {
        await using var database = await TestDatabase.CreateAsync();
        var settings = CatalogOrigin.PostgresSettings(database.ConnectionString);
        await using var a = await CatalogOrigin.StartAsync(settings);
        await using var b = await CatalogOrigin.StartAsync(settings);
        await a.PublishAsync("rated", "Rated on two instances");
        var (alice, _) = await a.UserAsync("alice");
        var (bob, _) = await b.UserAsync("bob");

        // Another session holds the title row (as a counter update does), so both instances' ratings
        // reach the database before either counts, and then commit one right after the other.
        await using (var holder = new NpgsqlConnection(database.ConnectionString))
        {
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var hold = new NpgsqlCommand("SELECT 1 FROM titles WHERE id = 'rated' FOR NO KEY UPDATE", holder, transaction))
            {
                await hold.ExecuteNonQueryAsync();
            }

            var fromA = RateAsync(a, alice, "like");
            var fromB = RateAsync(b, bob, "like");
            await WaitForLockWaitersAsync(database, 2);
            await transaction.CommitAsync();
            await Task.WhenAll(fromA, fromB);
        }

        // Two likes, no dislikes, as counters and as rows.
        Assert.Equal((2000L, 2000L), await CountsAsync(database));

        // Many more, both instances at once, with switches and withdrawals.
        var users = new List<(CatalogOrigin Origin, string Token)>();
        for (var i = 0; i < 12; i++)
        {
            var origin = i % 2 == 0 ? a : b;
            users.Add((origin, (await origin.UserAsync($"rater{i}")).Token));
        }

        string[] ratings = ["like", "dislike", "like", "none", "like"];
        for (var round = 0; round < ratings.Length; round++)
        {
            await Task.WhenAll(users.Select((u, i) => RateAsync(u.Origin, u.Token, ratings[(round + i) % ratings.Length])));
            var (counted, rows) = await CountsAsync(database);
            Assert.Equal(rows, counted);
        }
    }

    private static async Task<RatingView> RateAsync(CatalogOrigin origin, string token, string rating)
    {
        using var response = await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/rated/rating", token, new { rating });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<RatingView>(CatalogOrigin.Json))!;
    }

    /// <summary>The title's like and dislike counters against its rating rows, as likes·1000+dislikes for each.</summary>
    private static async Task<(long Counted, long Rows)> CountsAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT t.likes * 1000 + t.dislikes,
                   (SELECT count(*) FILTER (WHERE value = 1) * 1000 + count(*) FILTER (WHERE value = -1) FROM ratings r WHERE r.seq = t.seq)
            FROM titles t WHERE t.id = 'rated'
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task WaitForLockWaitersAsync(TestDatabase database, int count)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
            if ((long)(await command.ExecuteScalarAsync())! >= count)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{count} sessions did not wait for the title row within 20 s");
            await Task.Delay(20);
        }
    }
}
