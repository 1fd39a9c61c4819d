using Microsoft.Extensions.Configuration;

namespace OpenConnect.Hosting;

/// <summary>How one configuration key differs between the running configuration and the new one.</summary>
public enum KeyChange
{
    Added,
    Removed,
    Changed,
}

/// <summary>One changed key and whether it applies live. Values are not kept: keys may hold secrets.</summary>
public sealed record ChangedKey(string Key, KeyChange Change, bool Live);

/// <summary>The pure part of a reload: which keys differ, and which of them apply without a restart.</summary>
public static class ConfigurationDiff
{
    /// <summary>The leaf keys whose values differ (case-insensitive keys, ordinal values), sorted by key.</summary>
    public static IReadOnlyList<ChangedKey> Compare(IEnumerable<KeyValuePair<string, string?>> running, IEnumerable<KeyValuePair<string, string?>> next, IReadOnlyCollection<LiveSetting> live)
    {
        var before = Leaves(running);
        var after = Leaves(next);
        var changes = new List<ChangedKey>();
        foreach (var (key, value) in after)
        {
            if (!before.TryGetValue(key, out var old))
            {
                changes.Add(new ChangedKey(key, KeyChange.Added, IsLive(key, live)));
            }
            else if (!string.Equals(old, value, StringComparison.Ordinal))
            {
                changes.Add(new ChangedKey(key, KeyChange.Changed, IsLive(key, live)));
            }
        }

        foreach (var key in before.Keys)
        {
            if (!after.ContainsKey(key))
            {
                changes.Add(new ChangedKey(key, KeyChange.Removed, IsLive(key, live)));
            }
        }

        changes.Sort((a, b) => StringComparer.OrdinalIgnoreCase.Compare(a.Key, b.Key));
        return changes;
    }

    /// <summary>The same for two configurations.</summary>
    public static IReadOnlyList<ChangedKey> Compare(IConfiguration running, IConfiguration next, IReadOnlyCollection<LiveSetting> live) =>
        Compare(running.AsEnumerable(), next.AsEnumerable(), live);

    /// <summary>Whether a change of <paramref name="key"/> applies without a restart.</summary>
    public static bool IsLive(string key, IReadOnlyCollection<LiveSetting> live)
    {
        foreach (var setting in live)
        {
            if (setting.Covers(key))
            {
                return true;
            }
        }

        return false;
    }

    private static Dictionary<string, string?> Leaves(IEnumerable<KeyValuePair<string, string?>> pairs)
    {
        // Sections show up with a null value; only leaves carry settings.
        var leaves = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in pairs)
        {
            if (value is not null)
            {
                leaves[key] = value;
            }
        }

        return leaves;
    }
}
