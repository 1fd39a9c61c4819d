using System.Text.Json;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Publishing;

/// <summary>One title taken down: deleted (its files are gone) or unpublished (held back, may be republished).</summary>
public sealed record TakedownEntry(string TitleId, string Reason, DateTimeOffset At);

/// <summary>
/// The titles an admin took down, kept in <c>{DataDirectory}/takedowns.json</c> (temp file, flush and
/// rename on every change). The parent endpoint answers 410 for them, the catalog hides them, and
/// <see cref="TakedownReporter"/> reports the whole list to steering, which stops steering them and
/// has every appliance drop them. <see cref="Changed"/> fires with the title id after each change.
/// </summary>
public sealed class TitleTakedowns
{
    public const string FileName = "takedowns.json";
    public const string Deleted = "deleted";
    public const string Unpublished = "unpublished";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Dictionary<string, TakedownEntry> _entries;

    /// <exception cref="InvalidOperationException">The file exists but is not a takedown list.</exception>
    public TitleTakedowns(string dataDirectory, TimeProvider time)
    {
        _path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        _time = time;
        _entries = new Dictionary<string, TakedownEntry>(StringComparer.Ordinal);
        if (!File.Exists(_path))
        {
            return;
        }

        try
        {
            foreach (var entry in JsonSerializer.Deserialize<List<TakedownEntry>>(File.ReadAllText(_path), Json) ?? [])
            {
                if (!Contracts.Content.ContentKey.IsValidTitleId(entry.TitleId) || entry.Reason is not (Deleted or Unpublished))
                {
                    throw new JsonException($"entry '{entry.TitleId}' ({entry.Reason}) is not a title id with reason {Deleted} or {Unpublished}");
                }

                _entries[entry.TitleId] = entry;
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"takedown list '{_path}' is not valid: {ex.Message}", ex);
        }
    }

    /// <summary>Raised after a title was taken down or its takedown lifted, with the title id.</summary>
    public event Action<string>? Changed;

    public bool IsTakenDown(string titleId, out string reason)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(titleId, out var entry))
            {
                reason = entry.Reason;
                return true;
            }
        }

        reason = "";
        return false;
    }

    public bool IsTakenDown(string titleId) => IsTakenDown(titleId, out _);

    /// <summary>Every title taken down now, ordered by id.</summary>
    public IReadOnlyList<TakedownEntry> List()
    {
        lock (_lock)
        {
            return [.. _entries.Values.OrderBy(e => e.TitleId, StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Takes a title down for <paramref name="reason"/> (written before it returns). A deleted title
    /// stays deleted: unpublishing it again changes nothing. Returns the entry in force.
    /// </summary>
    public TakedownEntry TakeDown(string titleId, string reason)
    {
        if (!Contracts.Content.ContentKey.IsValidTitleId(titleId) || reason is not (Deleted or Unpublished))
        {
            throw new ArgumentException($"'{titleId}' ({reason}) is not a title id with reason {Deleted} or {Unpublished}");
        }

        TakedownEntry entry;
        lock (_lock)
        {
            if (_entries.TryGetValue(titleId, out var existing) && (existing.Reason == reason || existing.Reason == Deleted))
            {
                return existing;
            }

            entry = new TakedownEntry(titleId, reason, _time.GetUtcNow());
            var next = new Dictionary<string, TakedownEntry>(_entries, StringComparer.Ordinal) { [titleId] = entry };
            Save(next.Values);
            _entries = next;
        }

        Changed?.Invoke(titleId);
        return entry;
    }

    /// <summary>Lifts an unpublished title's takedown (republish). False when it was not taken down.</summary>
    /// <exception cref="InvalidOperationException">The title was deleted: its files are gone.</exception>
    public bool Lift(string titleId)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(titleId, out var existing))
            {
                return false;
            }

            if (existing.Reason == Deleted)
            {
                throw new InvalidOperationException($"title '{titleId}' was deleted; its files are gone and it cannot be republished (upload it again)");
            }

            var next = new Dictionary<string, TakedownEntry>(_entries, StringComparer.Ordinal);
            next.Remove(titleId);
            Save(next.Values);
            _entries = next;
        }

        Changed?.Invoke(titleId);
        return true;
    }

    private void Save(IEnumerable<TakedownEntry> entries)
    {
        DurableJsonFile.Write(_path, entries.OrderBy(e => e.TitleId, StringComparer.Ordinal).ToList(), Json);
    }
}
