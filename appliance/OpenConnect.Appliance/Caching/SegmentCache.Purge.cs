using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>What a purge drops: one object (<see cref="Path"/>), the titles in <see cref="Titles"/>, or everything (both null).</summary>
public sealed record PurgeScope(string? Path, IReadOnlySet<string>? Titles)
{
    public static PurgeScope Everything { get; } = new(null, null);

    public static PurgeScope Object(ContentKey key) => new(key.Path, null);

    public static PurgeScope Title(string titleId) => new(null, new HashSet<string>(StringComparer.Ordinal) { titleId });

    public bool All => Path is null && Titles is null;

    /// <summary>Whether the object at <paramref name="path"/> (a content path) falls in this scope.</summary>
    public bool Matches(string path) => All
        || (Path is not null ? path == Path : ContentKey.TryParse(path, out var key) && Titles!.Contains(key.TitleId));
}

/// <summary>What a purge dropped: objects from RAM or SSD, pins among them, and remembered 404s.</summary>
public readonly record struct PurgeResult(int Objects, int Pins, int NotFoundEntries);

public sealed partial class SegmentCache
{
    /// <summary>The titles taken down at the origin, as steering last sent them (persisted).</summary>
    public Upstream.TakedownSet Takedowns => _fetcher.Takedowns;

    /// <summary>
    /// Drops every object in <paramref name="scope"/> from both tiers, pins included (the pin set is
    /// saved), and the not-found cache's entries for it. SSD writes under way are waited for and the
    /// scope swept again, so a miss admitted just before cannot leave a copy behind. Responses already
    /// sending an object finish; the next request for it is a miss (or 410 when its title is taken down).
    /// </summary>
    public async Task<PurgeResult> PurgeAsync(PurgeScope scope, CancellationToken cancellationToken)
    {
        var (objects, pins) = RemoveMatching(scope);
        if (_ssd.IsOpen)
        {
            await _ssd.PendingWritesAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            var (late, latePins) = RemoveMatching(scope);
            objects += late;
            pins += latePins;
        }

        var notFound = _fetcher.NotFound.Forget(scope.All ? null : scope.Matches);
        if (pins > 0)
        {
            await SavePinsAsync(cancellationToken).ConfigureAwait(false);
        }

        UpdateGauges();
        return new PurgeResult(objects, pins, notFound);
    }

    /// <summary>
    /// Applies steering's takedown list (title id → reason) at <paramref name="generation"/>: written to
    /// disk first, so lookups answer 410 from here on and across a restart, then every title new to the
    /// list is purged. Returns the titles newly taken down.
    /// </summary>
    public async Task<IReadOnlyList<string>> ApplyTakedownsAsync(ulong generation, IReadOnlyDictionary<string, string> titles, CancellationToken cancellationToken)
    {
        var added = _fetcher.Takedowns.Apply(generation, titles);
        if (added.Count > 0)
        {
            await PurgeAsync(new PurgeScope(null, added.ToHashSet(StringComparer.Ordinal)), cancellationToken).ConfigureAwait(false);
        }

        return added;
    }

    /// <summary>After a restart: drops whatever the SSD tier still holds of titles on the persisted takedown list (a crash mid-purge).</summary>
    private async Task PurgeTakenDownAsync(CancellationToken cancellationToken)
    {
        var titles = _fetcher.Takedowns.Titles;
        if (titles.Count > 0)
        {
            await PurgeAsync(new PurgeScope(null, titles.Keys.ToHashSet(StringComparer.Ordinal)), cancellationToken).ConfigureAwait(false);
        }
    }

    private (int Objects, int Pins) RemoveMatching(PurgeScope scope)
    {
        var keys = new HashSet<ulong>();
        if (scope.Path is { } path)
        {
            keys.Add(KeyHash.Of(path));
        }
        else
        {
            foreach (var (key, held) in _ram.Held())
            {
                if (scope.Matches(held))
                {
                    keys.Add(key);
                }
            }

            if (_ssd.IsOpen)
            {
                foreach (var (key, _) in Store.Entries)
                {
                    if (scope.All || HeldUnder(key, scope.Titles!))
                    {
                        keys.Add(key);
                    }
                }
            }
        }

        var objects = 0;
        var pins = 0;
        lock (_policyLock)
        {
            foreach (var key in keys)
            {
                pins += _pins.DropLocked(key) ? 1 : 0;
                var inRam = _ram.RemoveLocked(key);
                var onSsd = _ssd.IsOpen && _ssd.RemoveLocked(key);
                objects += inRam || onSsd ? 1 : 0;
            }
        }

        return (objects, pins);
    }

    /// <summary>Whether an SSD object belongs to one of <paramref name="titles"/>: by the inventory when it knows the key, else by the path in the object's header.</summary>
    private bool HeldUnder(ulong key, IReadOnlySet<string> titles)
    {
        if (_inventory.EntryOf(key) is { } entry)
        {
            var slash = entry.IndexOf('/');
            return titles.Contains(slash < 0 ? entry : entry[..slash]);
        }

        return Store.ReadPath(key) is { } path && ContentKey.TryParse(path, out var content) && titles.Contains(content.TitleId);
    }
}
