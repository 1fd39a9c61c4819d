using System.Globalization;
using System.Text;

namespace OpenConnect.Bench.Fleet;

/// <summary>The table per site and for all, the chaos events, and the JSON line of a <see cref="FleetResult"/>.</summary>
public static class FleetReport
{
    private const double Mb = 1_000_000;

    public static string Table(FleetResult result)
    {
        var table = new Table("site", "client", "sessions", "started", "failed starts", "cut off", "dropped", "rebuffer %", "stalls", "avg kbit/s", "pathway sw", "steering sw", "MB appliances", "MB origin");
        foreach (var (site, players) in result.Sites.Append(("all", result.All)))
        {
            table.Add(
                site,
                players.Client,
                players.Sessions,
                players.Started,
                players.FailedStarts,
                players.CutOff,
                players.Dropped,
                Percent(players.RebufferRatio),
                players.Rebuffers,
                Fixed(players.AverageBitrate / 1000, "F0"),
                players.PathwaySwitches,
                players.SteeringSwitches,
                Fixed(result.FromAppliances(players) / Mb, "F1"),
                Fixed(result.FromOrigin(players) / Mb, "F1"));
        }

        var text = new StringBuilder();
        text.AppendLine();
        text.Append(table);
        var all = result.All;
        foreach (var (site, players) in result.Sites.Append(("all", all)))
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{site}: players fetched {players.Bytes / Mb:F1} MB: {string.Join(", ", result.BytesByRole(players).OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value / Mb:F1}"))}"));
        }

        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"the origin served {result.OriginServedBytes / Mb:F1} MB: {result.FromOrigin(all) / Mb:F1} MB to players directly, {result.OriginToAppliancesBytes / Mb:F1} MB to appliances (pull-through); appliance fill {result.FillBytes / Mb:F1} MB"));
        foreach (var (reason, count) in all.FailureReasons.OrderByDescending(r => r.Value))
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"session error x{count}: {reason}"));
        }

        foreach (var (reason, count) in all.RetriedRequests.OrderByDescending(r => r.Value).Take(8))
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"retried on another pathway x{count}: {reason}"));
        }

        text.AppendLine(result.Options.Chaos ? "chaos events:" : "chaos off (baseline)");
        foreach (var e in result.Events)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  t={e.At,6:F1} s  {e.What}"));
        }

        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"goal (0 failed starts, rebuffer ratio < {FleetResult.RebufferGoal:P1}): {(result.GoalMet ? "met" : "NOT met")}; run {result.WallSeconds:F0} s, load average {result.LoadBefore:F1} before, {result.LoadAfter:F1} after"));
        return text.ToString();
    }

    public static object Json(FleetResult result)
    {
        var all = result.All;
        return new Dictionary<string, object?>
        {
            ["scenario"] = "fleet",
            ["chaos"] = result.Options.Chaos,
            ["seed"] = result.Options.Seed,
            ["sessions_per_client"] = result.Options.Sessions,
            ["seconds"] = result.Options.Seconds,
            ["title_seconds"] = result.Options.TitleSeconds,
            ["sites"] = result.Sites.ToDictionary(s => s.Site, s => Figures(result, s.Players), StringComparer.Ordinal),
            ["all"] = Figures(result, all),
            ["sessions"] = all.Sessions,
            ["started"] = all.Started,
            ["failed_starts"] = all.FailedStarts,
            ["rebuffer_ratio"] = Round(all.RebufferRatio, 5),
            ["avg_bitrate_kbps"] = Round(all.AverageBitrate / 1000, 0),
            ["bytes_from_appliances"] = result.FromAppliances(all),
            ["bytes_from_origin_to_players"] = result.FromOrigin(all),
            ["bytes_origin_to_appliances"] = (long)result.OriginToAppliancesBytes,
            ["bytes_served_by_origin"] = (long)result.OriginServedBytes,
            ["bytes_appliance_fill"] = (long)result.FillBytes,
            ["bytes_by_role"] = result.BytesByRole(all),
            ["chaos_schedule"] = result.Schedule.Select(i => i.Describe()).ToList(),
            ["chaos_events"] = result.Events.Select(e => new Dictionary<string, object> { ["at"] = e.At, ["event"] = e.What }).ToList(),
            ["wall_seconds"] = Round(result.WallSeconds, 1),
            ["load_average_before"] = result.LoadBefore,
            ["load_average_after"] = result.LoadAfter,
            ["goal_met"] = result.GoalMet,
        };
    }

    private static Dictionary<string, object?> Figures(FleetResult result, PlayersSummary p) => new()
    {
        ["client"] = p.Client,
        ["sessions"] = p.Sessions,
        ["started"] = p.Started,
        ["failed_starts"] = p.FailedStarts,
        ["cut_off"] = p.CutOff,
        ["dropped"] = p.Dropped,
        ["failure_reasons"] = p.FailureReasons,
        ["stall_seconds"] = Round(p.StallSeconds, 2),
        ["play_seconds"] = Round(p.PlaySeconds, 1),
        ["rebuffer_ratio"] = Round(p.RebufferRatio, 5),
        ["rebuffers"] = p.Rebuffers,
        ["avg_bitrate_kbps"] = Round(p.AverageBitrate / 1000, 0),
        ["pathway_switches"] = p.PathwaySwitches,
        ["steering_switches"] = p.SteeringSwitches,
        ["bytes"] = p.Bytes,
        ["bytes_from_appliances"] = result.FromAppliances(p),
        ["bytes_from_origin"] = result.FromOrigin(p),
        ["bytes_by_role"] = result.BytesByRole(p),
    };

    private static double? Round(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : null;

    private static string Fixed(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Percent(double ratio) => double.IsFinite(ratio) ? (ratio * 100).ToString("F2", CultureInfo.InvariantCulture) : "-";
}
