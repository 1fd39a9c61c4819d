using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>Fill sources: same-site holders, then other sites' holders, then the origin; never the appliance itself or an unknown one.</summary>
public sealed class SourceRankingTests
{
    private static readonly Dictionary<string, RosterEntry> Roster = new[]
    {
        new RosterEntry("a1", "isp1", "http://a1:8400/", 1, DateTimeOffset.UnixEpoch),
        new RosterEntry("a2", "isp1", "http://a2:8400", 1, DateTimeOffset.UnixEpoch),
        new RosterEntry("a3", "isp1", "http://a3:8400", 1, DateTimeOffset.UnixEpoch),
        new RosterEntry("b1", "isp2", "http://b1:8400", 1, DateTimeOffset.UnixEpoch),
    }.ToDictionary(a => a.ApplianceId);

    private static readonly FileId File = new("t1", "r0");

    [Theory]
    [InlineData(new string[0], new[] { "http://origin:8100" })]
    [InlineData(new[] { "b1" }, new[] { "http://b1:8400", "http://origin:8100" })]
    [InlineData(new[] { "b1", "a2" }, new[] { "http://a2:8400", "http://b1:8400", "http://origin:8100" })]
    [InlineData(new[] { "a1", "b1" }, new[] { "http://b1:8400", "http://origin:8100" })]
    [InlineData(new[] { "gone", "a2", "a2" }, new[] { "http://a2:8400", "http://origin:8100" })]
    public void Rank_PrefersTheSite_ThenOtherSites_ThenTheOrigin(string[] holders, string[] expected) =>
        Assert.Equal(expected, SourceRanking.Rank(File, "a1", "isp1", holders, Roster, "http://origin:8100/"));

    [Fact]
    public void SameSitePeers_AreInTheTitlesRendezvousOrder_SoEveryApplianceAsksTheSamePeerFirst()
    {
        var fromA1 = SourceRanking.Rank(File, "a1", "isp1", ["a2", "a3"], Roster, "http://o");
        var reversed = SourceRanking.Rank(File, "a1", "isp1", ["a3", "a2"], Roster, "http://o");
        Assert.Equal(fromA1, reversed);
        Assert.Equal(3, fromA1.Count);
    }
}
