using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Hosting;
using OpenConnect.Origin.Catalog;

namespace OpenConnect.Origin.Publishing;

/// <summary>One title taken down: deleted (its files are gone) or unpublished (held back, may be republished).</summary>
public sealed record TakedownEntry(string TitleId, string Reason, DateTimeOffset At);

/// <summary>
/// The titles an admin took down. With the catalog on SQLite (one origin instance) they are kept in
/// <c>{DataDirectory}/takedowns.json</c> (temp file, flush and rename on every change); with the
/// catalog on PostgreSQL they live in its <c>takedowns</c> table (<see cref="PostgresTakedowns"/>),
/// shared by every origin instance on that catalog, and each instance reloads its copy when another
/// changes it (<see cref="Reload"/>, called by the catalog relay). The parent endpoint answers 410 for
/// them, the catalog hides them, and <see cref="TakedownReporter"/> reports the whole list to
/// steering, which stops steering them and has every appliance drop them: every instance reports the
/// same list, so no instance's report undoes another's takedown. <see cref="Changed"/> fires with the
/// title id after each change, made here or (on PostgreSQL) by another instance.
/// </summary>
public sealed class TitleTakedowns
{
    public const string FileName = "takedowns.json";
    public const string Deleted = "deleted";
    public const string Unpublished = "unpublished";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly CatalogDatabase? _shared;
    private readonly Lock _lock = new();
    private Dictionary<string, TakedownEntry> _entries;

    /// <summary>The list in <c>{dataDirectory}/takedowns.json</c> (one origin instance).</summary>
    /// <exception cref="InvalidOperationException">The file exists but is not a takedown list.</exception>
    public TitleTakedowns(string dataDirectory, TimeProvider time)
    {
        _path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        _time = time;
        _entries = ReadFile(_path);
    }

    /// <summary>
    /// The list in the PostgreSQL catalog <paramref name="shared"/>. A <c>takedowns.json</c> left in
    /// <paramref name="dataDirectory"/> from before is merged into the table once and renamed to
    /// <c>takedowns.json.imported</c>, so a takedown lifted later does not come back from it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file exists but is not a takedown list.</exception>
    public TitleTakedowns(CatalogDatabase shared, string dataDirectory, TimeProvider time)
    {
        _path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        _time = time;
        _shared = shared;
        var left = ReadFile(_path);
        if (left.Count > 0)
        {
            PostgresTakedowns.Import(shared, left.Values);
        }

        if (File.Exists(_path))
        {
            File.Move(_path, _path + ".imported", overwrite: true);
        }

        _entries = PostgresTakedowns.Load(shared);
    }

    /// <summary>The store the origin's settings call for: the catalog's PostgreSQL database when the catalog is there, else the file.</summary>
    public static TitleTakedowns Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<OriginOptions>>().Value;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        return options.Catalog.Database.IsPostgreSql
            ? new TitleTakedowns(services.GetRequiredService<CatalogDatabase>(), options.DataDirectory, time)
            : new TitleTakedowns(options.DataDirectory, time);
    }

    /// <summary>Whether the list is shared by every origin instance on a PostgreSQL catalog.</summary>
    public bool IsShared => _shared is not null;

    private static Dictionary<string, TakedownEntry> ReadFile(string path)
    {
        var entries = new Dictionary<string, TakedownEntry>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return entries;
        }

        try
        {
            foreach (var entry in JsonSerializer.Deserialize<List<TakedownEntry>>(File.ReadAllText(path), Json) ?? [])
            {
                if (!Contracts.Content.ContentKey.IsValidTitleId(entry.TitleId) || entry.Reason is not (Deleted or Unpublished))
                {
                    throw new JsonException($"entry '{entry.TitleId}' ({entry.Reason}) is not a title id with reason {Deleted} or {Unpublished}");
                }

                entries[entry.TitleId] = entry;
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"takedown list '{path}' is not valid: {ex.Message}", ex);
        }

        return entries;
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
            if (_shared is not null)
            {
                // The entry in force, whoever wrote it; Changed fires only for this call's change (another instance's comes with its reload).
                (entry, var changed) = PostgresTakedowns.TakeDown(_shared, titleId, reason, _time.GetUtcNow());
                _entries = new Dictionary<string, TakedownEntry>(_entries, StringComparer.Ordinal) { [titleId] = entry };
                if (!changed)
                {
                    return entry;
                }
            }
            else
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
            if (_shared is not null)
            {
                if (!PostgresTakedowns.Lift(_shared, titleId))
                {
                    return false;
                }
            }
            else if (!_entries.TryGetValue(titleId, out var existing))
            {
                return false;
            }
            else if (existing.Reason == Deleted)
            {
                throw DeletedForGood(titleId);
            }

            var next = new Dictionary<string, TakedownEntry>(_entries, StringComparer.Ordinal);
            next.Remove(titleId);
            if (_shared is null)
            {
                Save(next.Values);
            }

            _entries = next;
        }

        Changed?.Invoke(titleId);
        return true;
    }

    /// <summary>
    /// Reads the shared list again and raises <see cref="Changed"/> for every title whose takedown
    /// another instance changed. The catalog relay calls it on each takedown notification and after
    /// it reconnects; a no-op for the file.
    /// </summary>
    public void Reload()
    {
        if (_shared is null)
        {
            return;
        }

        List<string> changed;
        lock (_lock)
        {
            var next = PostgresTakedowns.Load(_shared);
            changed = [.. next.Where(e => !_entries.TryGetValue(e.Key, out var old) || old != e.Value).Select(e => e.Key)
                .Concat(_entries.Keys.Where(id => !next.ContainsKey(id)))];
            _entries = next;
        }

        foreach (var id in changed)
        {
            Changed?.Invoke(id);
        }
    }

    internal static InvalidOperationException DeletedForGood(string titleId) =>
        new($"title '{titleId}' was deleted; its files are gone and it cannot be republished (upload it again)");


    private void Save(IEnumerable<TakedownEntry> entries)
    {
        DurableJsonFile.Write(_path, entries.OrderBy(e => e.TitleId, StringComparer.Ordinal).ToList(), Json);
    }
}
