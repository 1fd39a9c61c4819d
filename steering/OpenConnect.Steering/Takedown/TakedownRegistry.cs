using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Takedown;

/// <summary>
/// The titles the origin has taken down (deleted or unpublished), as the origin last reported them in
/// full, numbered by a generation that grows with every change. Kept in <c>takedowns.json</c> in the
/// data directory (temp file and rename), so a restart keeps refusing them before the origin reports
/// again. Play endpoints answer 410 for them at once; appliances receive the list in their
/// Register and Heartbeat replies and drop and refuse the titles within one heartbeat.
/// </summary>
public sealed class TakedownRegistry
{
    public const string FileName = "takedowns.json";

    /// <summary>The reasons the origin gives.</summary>
    public static readonly IReadOnlyList<string> Reasons = ["deleted", "unpublished"];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly string _path;
    private readonly Lock _lock = new();
    private volatile Snapshot _current;

    public TakedownRegistry(IOptions<SteeringOptions> options)
        : this(Path.Combine(options.Value.DataDirectory, FileName))
    {
    }

    /// <exception cref="InvalidOperationException">The file exists but is not a takedown list.</exception>
    public TakedownRegistry(string path)
    {
        _path = Path.GetFullPath(path);
        _current = Snapshot.Of(0, []);
        if (!File.Exists(_path))
        {
            return;
        }

        try
        {
            var stored = JsonSerializer.Deserialize<StoredList>(File.ReadAllText(_path), Json) ?? throw new JsonException("empty");
            var entries = stored.Takedowns.Select(t => new Contracts.Steering.V1.Takedown { TitleId = t.TitleId, Reason = t.Reason, AtUnixMs = t.AtUnixMs }).ToList();
            if (Describe(entries) is { } problem)
            {
                throw new JsonException(problem);
            }

            _current = Snapshot.Of(stored.Generation, entries);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"takedown list '{_path}' is not valid: {ex.Message} (move it away to start with an empty list; the origin reports its list again)", ex);
        }
    }

    /// <summary>The generation of the list now (0: nothing was ever taken down).</summary>
    public ulong Generation => _current.List.Generation;

    /// <summary>The list as appliances receive it (shared; do not modify).</summary>
    public TakedownList List => _current.List;

    public int Count => _current.Titles.Count;

    /// <summary>Whether <paramref name="titleId"/> is taken down, and why.</summary>
    public bool IsTakenDown(string titleId, out string reason)
    {
        if (_current.Titles.TryGetValue(titleId, out var entry))
        {
            reason = entry.Reason;
            return true;
        }

        reason = "";
        return false;
    }

    /// <summary>Why a reported list cannot be taken, or null when it can.</summary>
    public static string? Describe(IReadOnlyCollection<Contracts.Steering.V1.Takedown> takedowns)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in takedowns)
        {
            if (!ContentKey.IsValidTitleId(entry.TitleId))
            {
                return $"title id '{entry.TitleId}' is not a content title id";
            }

            if (!Reasons.Contains(entry.Reason))
            {
                return $"title '{entry.TitleId}': reason '{entry.Reason}' must be one of {string.Join(", ", Reasons)}";
            }

            if (!seen.Add(entry.TitleId))
            {
                return $"title '{entry.TitleId}' is listed twice";
            }
        }

        return null;
    }

    /// <summary>
    /// Replaces the list with the origin's report; the generation grows only when the titles or their
    /// reasons changed. Written to disk before it takes effect. Returns the generation now.
    /// </summary>
    /// <exception cref="ArgumentException">The report is not valid (<see cref="Describe"/>).</exception>
    public ulong Replace(IReadOnlyCollection<Contracts.Steering.V1.Takedown> takedowns, out bool changed)
    {
        if (Describe(takedowns) is { } problem)
        {
            throw new ArgumentException(problem, nameof(takedowns));
        }

        lock (_lock)
        {
            var current = _current;
            changed = takedowns.Count != current.Titles.Count
                || takedowns.Any(t => !current.Titles.TryGetValue(t.TitleId, out var held) || held.Reason != t.Reason);
            if (!changed)
            {
                return current.List.Generation;
            }

            var next = Snapshot.Of(current.List.Generation + 1, [.. takedowns.OrderBy(t => t.TitleId, StringComparer.Ordinal)]);
            Save(next.List);
            _current = next;
            return next.List.Generation;
        }
    }

    private void Save(TakedownList list)
    {
        var stored = new StoredList(list.Generation, [.. list.Takedowns.Select(t => new StoredTakedown(t.TitleId, t.Reason, t.AtUnixMs))]);
        DurableJsonFile.Write(_path, stored, Json);
    }

    private sealed record Snapshot(TakedownList List, FrozenDictionary<string, Contracts.Steering.V1.Takedown> Titles)
    {
        public static Snapshot Of(ulong generation, List<Contracts.Steering.V1.Takedown> entries)
        {
            var list = new TakedownList { Generation = generation };
            list.Takedowns.AddRange(entries);
            return new Snapshot(list, entries.ToFrozenDictionary(t => t.TitleId, StringComparer.Ordinal));
        }
    }

    private sealed record StoredList(ulong Generation, List<StoredTakedown> Takedowns);

    private sealed record StoredTakedown(string TitleId, string Reason, long AtUnixMs);
}
