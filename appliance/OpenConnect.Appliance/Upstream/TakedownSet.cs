using System.Collections.Frozen;
using System.Text.Json;
using OpenConnect.Contracts.Content;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// The titles taken down at the origin, as steering last handed them to this appliance (the list and
/// its generation), kept in <c>{Cache:Directory}/takedowns.json</c> (temp file, flush, rename) before
/// it takes effect, so a restart refuses them before steering is heard from again and the start can
/// drop whatever a crash left on SSD. A lookup of a title in it answers 410 and no fill starts for it.
/// Checking a path costs one frozen-set probe on the title span, and nothing when the set is empty.
/// </summary>
public sealed class TakedownSet
{
    public const string FileName = "takedowns.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string? _path;
    private readonly Lock _lock = new();
    private volatile State _state = State.Empty;

    /// <summary>A set persisted in <paramref name="path"/> (loaded now when it exists); null keeps it in memory only.</summary>
    /// <exception cref="InvalidOperationException">The file exists but is not a takedown list.</exception>
    public TakedownSet(string? path)
    {
        _path = path;
        if (path is null || !File.Exists(path))
        {
            return;
        }

        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), Json) ?? throw new JsonException("empty");
            _state = State.Of(stored.Generation, stored.Titles);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            throw new InvalidOperationException($"takedown list '{path}' is not valid: {ex.Message} (delete it to start empty; steering sends the list again)", ex);
        }
    }

    /// <summary>The generation applied last (0: none).</summary>
    public ulong Generation => _state.Generation;

    public int Count => _state.Titles.Count;

    /// <summary>The titles taken down now and why.</summary>
    public IReadOnlyDictionary<string, string> Titles => _state.Titles;

    /// <summary>Whether the title of a content path (<c>/v/{title}/…</c>) is taken down.</summary>
    public bool Holds(ReadOnlySpan<char> path)
    {
        var state = _state;
        return state.Titles.Count > 0 && TitleOf(path) is { IsEmpty: false } title && state.Lookup.ContainsKey(title);
    }

    /// <summary>Whether <paramref name="titleId"/> is taken down.</summary>
    public bool HoldsTitle(string titleId) => _state.Titles.ContainsKey(titleId);

    /// <summary>
    /// Makes <paramref name="titles"/> (id → reason) the list in force at <paramref name="generation"/>,
    /// written first; returns the titles that were not taken down before (to be dropped from the cache).
    /// Invalid title ids are skipped: they name nothing the cache can hold.
    /// </summary>
    public IReadOnlyList<string> Apply(ulong generation, IReadOnlyDictionary<string, string> titles)
    {
        lock (_lock)
        {
            var before = _state;
            var next = State.Of(generation, titles.Where(t => ContentKey.IsValidTitleId(t.Key)).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal));
            if (_path is not null)
            {
                DurableJsonFile.Write(_path, new Stored(generation, new Dictionary<string, string>(next.Titles, StringComparer.Ordinal)), Json);
            }

            _state = next;
            return [.. next.Titles.Keys.Where(t => !before.Titles.ContainsKey(t)).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The title id of <c>/v/{title}/…</c>, or empty.</summary>
    private static ReadOnlySpan<char> TitleOf(ReadOnlySpan<char> path)
    {
        if (!path.StartsWith(ContentKey.Prefix, StringComparison.Ordinal))
        {
            return default;
        }

        var rest = path[ContentKey.Prefix.Length..];
        var slash = rest.IndexOf('/');
        return slash <= 0 ? default : rest[..slash];
    }

    private sealed record Stored(ulong Generation, Dictionary<string, string> Titles);

    private sealed class State
    {
        public static readonly State Empty = Of(0, new Dictionary<string, string>());

        private State(ulong generation, FrozenDictionary<string, string> titles)
        {
            Generation = generation;
            Titles = titles;
            Lookup = titles.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public ulong Generation { get; }

        public FrozenDictionary<string, string> Titles { get; }

        public FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

        public static State Of(ulong generation, Dictionary<string, string> titles) =>
            new(generation, titles.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
