using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// Two steering instances side by side with no shared store, only shared configuration (the signing
/// key file, the fleet CA, the prefix tables, one public URL for players). Each rebuilds its registry
/// from the appliances' heartbeats, so one session can be answered by either in turn.
/// </summary>
public sealed class ReplicaTests
{
    private const string PublicUrl = "http://steering.openconnect.test:8200";

    [Fact]
    public async Task ASessionStartedOnOneReplica_IsAnsweredTheSameByTheOther()
    {
        await using var a = await SteeringHarness.StartAsync(true, $"--Steering:PublicUrl={PublicUrl}");
        await using var b = await a.StartReplicaAsync($"--Steering:PublicUrl={PublicUrl}");

        // Every appliance registers and heartbeats to both replicas, as ControlPlaneClient does.
        foreach (var h in (SteeringHarness[])[a, b])
        {
            await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
            await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, "t1"));
            await h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402");
            await h.HeartbeatAsync("a2", inventory: SteeringHarness.FullInventory(1, "t1"));
            await h.RegisterAsync("a3", "isp1", "http://127.0.0.1:8403");
            await h.HeartbeatAsync("a3");
        }

        // /play on A; its answer equals B's but for the session id each makes up.
        var played = await a.Http.GetStringAsync("/play/t1");
        var session = Regex.Match(played, "session=([A-Za-z0-9_-]+)").Groups[1].Value;
        Assert.NotEmpty(session);
        var fromB = await b.Http.GetStringAsync("/play/t1");
        Assert.Equal(played, Regex.Replace(fromB, "session=[A-Za-z0-9_-]+", "session=" + session));
        using var play = JsonDocument.Parse(played);
        var hlsUrl = play.RootElement.GetProperty("hls").GetProperty("url").GetString()!;
        var dashUrl = play.RootElement.GetProperty("dash").GetProperty("url").GetString()!;
        Assert.StartsWith(PublicUrl + "/play/t1/master.m3u8?session=", hlsUrl, StringComparison.Ordinal);

        // The session's playlist and MPD, asked of either replica: the same bytes (tokens included).
        var path = new Uri(hlsUrl).PathAndQuery;
        var playlist = await a.Http.GetStringAsync(path);
        Assert.Equal(playlist, await b.Http.GetStringAsync(path));
        var mpdPath = new Uri(dashUrl).PathAndQuery;
        Assert.Equal(await a.Http.GetStringAsync(mpdPath), await b.Http.GetStringAsync(mpdPath));

        // Its Content Steering polls: the same answer from either, as the player moves, and when an appliance dies.
        var serverUri = Regex.Match(playlist, "SERVER-URI=\"([^\"]+)\"").Groups[1].Value;
        Assert.StartsWith(PublicUrl + "/steering/hls/t1?session=" + session, serverUri, StringComparison.Ordinal);
        var poll = new Uri(serverUri).PathAndQuery;
        Assert.Equal(await SteerAsync(a, poll), await SteerAsync(b, poll));
        var first = Regex.Match(playlist, "PATHWAY-ID=([a-z0-9]+)").Groups[1].Value;
        var other = first == "a1" ? "a2" : "a1";
        Assert.Equal(await SteerAsync(a, poll + "&_HLS_pathway=" + other), await SteerAsync(b, poll + "&_HLS_pathway=" + other));

        // Both registries see the same silence: a1 and a2 keep heartbeating to both, a3 stops.
        a.Time.Advance(TimeSpan.FromSeconds(2));
        foreach (var h in (SteeringHarness[])[a, b])
        {
            await h.HeartbeatAsync("a1");
            await h.HeartbeatAsync("a2");
        }

        a.Time.Advance(TimeSpan.FromSeconds(1.5));
        var afterA = await SteerAsync(a, poll);
        Assert.Equal(afterA, await SteerAsync(b, poll));
        using var manifest = JsonDocument.Parse(afterA);
        var priority = manifest.RootElement.GetProperty("PATHWAY-PRIORITY").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.DoesNotContain("a3", priority);
        Assert.Equal("origin", priority[^1]);
    }

    [Fact]
    public async Task Replicas_GiveAnApplianceTheSameKey_SoATokenOneIssuedVerifiesWithWhatTheOtherSent()
    {
        await using var a = await SteeringHarness.StartAsync();
        await using var b = await a.StartReplicaAsync();
        var fromA = await a.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        var fromB = await b.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        Assert.Equal(PlaybackMacKey.Length, fromB.PlaybackKey.Length);
        Assert.Equal(fromA.PlaybackKey, fromB.PlaybackKey);
        Assert.Equal(await a.Http.GetStringAsync("/keys"), await b.Http.GetStringAsync("/keys"));

        // A token replica A issued names a1; it verifies with the key replica B handed to a1, and
        // not with another appliance's key (no appliance can mint what a peer accepts).
        await a.HeartbeatAsync("a1");
        using var play = JsonDocument.Parse(await a.Http.GetStringAsync("/play/t1"));
        var url = play.RootElement.GetProperty("hls").GetProperty("pathways")[0].GetProperty("url").GetString()!;
        Assert.StartsWith("http://127.0.0.1:8401/s/", url, StringComparison.Ordinal);
        var token = url.Split('/')[4];
        var now = a.Time.GetUtcNow();
        var keyFromB = new PlaybackMacKeyRing(new PlaybackMacKey(fromB.PlaybackKey.Span));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, keyFromB, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Loopback));
        var otherKey = (await b.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402")).PlaybackKey;
        Assert.NotEqual(fromB.PlaybackKey, otherKey);
        Assert.NotEqual(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, new PlaybackMacKeyRing(new PlaybackMacKey(otherKey.Span)), now, "/v/t1/r0/seg-00001.m4s", IPAddress.Loopback));
    }

    [Fact]
    public async Task ARemovalOnOneReplica_StopsSteeringToThatApplianceOnTheOther_AtItsNextHeartbeat()
    {
        // Replicas sharing one fleet directory (the launcher's and the bed's layout).
        await using var a = await SteeringHarness.StartAsync();
        await using var b = await a.StartReplicaAsync();
        await RegisterBothAsync(a, b);
        Assert.Contains("a1", await b.PlayPathwaysAsync());

        using (var operators = a.OperatorClient(a.OperatorToken))
        {
            var removed = await operators.DeleteAsync("/fleet/appliances/a1");
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
            Assert.False((await removed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyRemoved").GetBoolean());
        }

        Assert.DoesNotContain("a1", await a.PlayPathwaysAsync());

        // B was not called. a1's next heartbeat to it is refused, and a1 leaves B's answers at once
        // (not one heartbeat expiry later); a2 stays.
        var refused = await Assert.ThrowsAsync<RpcException>(() => b.HeartbeatAsync("a1"));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        var fromB = await b.PlayPathwaysAsync();
        Assert.DoesNotContain("a1", fromB);
        Assert.Equal(["a2", "origin"], fromB);

        // The operator's removal sent to B as well finds it removed already.
        using var operatorsOfB = b.OperatorClient(b.OperatorToken);
        var again = await operatorsOfB.DeleteAsync("/fleet/appliances/a1");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyRemoved").GetBoolean());
    }

    [Fact]
    public async Task ReplicasWithTheirOwnCopyOfTheFleetDirectory_EachTakeTheRemoval_WhenItIsSentToEach()
    {
        await using var a = await SteeringHarness.StartAsync();
        var copy = a.State.Combine("fleet-copy");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(a.State.Combine("steering", "fleet")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        await using var b = await a.StartReplicaAsync($"--Steering:Fleet:Directory={copy}");
        await RegisterBothAsync(a, b);
        using (var operators = a.OperatorClient(a.OperatorToken))
        {
            Assert.Equal(HttpStatusCode.OK, (await operators.DeleteAsync("/fleet/appliances/a1")).StatusCode);
        }

        // B has its own records: the removal made on A alone does not reach it.
        Assert.DoesNotContain("a1", await a.PlayPathwaysAsync());
        await b.HeartbeatAsync("a1");
        Assert.Contains("a1", await b.PlayPathwaysAsync());

        // Sent to B too, it holds there though B has no record of a1: a1 heartbeats to it as isp1.
        using var operatorsOfB = b.OperatorClient(b.OperatorToken);
        var removed = await operatorsOfB.DeleteAsync("/fleet/appliances/a1");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.False((await removed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyRemoved").GetBoolean());
        Assert.Equal(["a2", "origin"], await b.PlayPathwaysAsync());
        var refused = await Assert.ThrowsAsync<RpcException>(() => b.HeartbeatAsync("a1"));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    /// <summary>a1 and a2 of isp1, holding t1, register and heartbeat to both replicas.</summary>
    private static async Task RegisterBothAsync(SteeringHarness a, SteeringHarness b)
    {
        foreach (var h in (SteeringHarness[])[a, b])
        {
            await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
            await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, "t1"));
            await h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402");
            await h.HeartbeatAsync("a2", inventory: SteeringHarness.FullInventory(1, "t1"));
        }
    }

    private static async Task<string> SteerAsync(SteeringHarness h, string pathAndQuery)
    {
        var response = await h.Http.GetAsync(pathAndQuery);
        Assert.True(response.IsSuccessStatusCode, $"{pathAndQuery}: {(int)response.StatusCode}");
        return JsonSerializer.Serialize(await response.Content.ReadFromJsonAsync<JsonElement>());
    }
}
