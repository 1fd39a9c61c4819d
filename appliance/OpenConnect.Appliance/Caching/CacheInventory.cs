using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>The cache tiers an object can be held in, as flags.</summary>
[Flags]
public enum InventoryTier : byte
{
    None = 0,
    Ram = 1,
    Ssd = 2,
}

/// <summary>
/// What the cache holds, at the grain steering ranks by: <c>"{title}"</c> for title-level files
/// (master playlists, manifests) and <c>"{title}/{rendition}"</c> for a rendition's playlist and
/// segments. The cache reports every object entering or leaving a tier; an entry is present while at
/// least one object under it is held in either tier. The set of entries is small (titles ×
/// renditions), so the control-plane client diffs snapshots of it rather than keeping a change log.
/// </summary>
public sealed class CacheInventory
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, (string Entry, InventoryTier Tiers)> _objects = [];
    private readonly Dictionary<string, int> _objectsPerEntry = new(StringComparer.Ordinal);

    /// <summary>Objects currently accounted for.</summary>
    public int ObjectCount
    {
        get
        {
            lock (_lock)
            {
                return _objects.Count;
            }
        }
    }

    /// <summary>The inventory entry for a content path; null for paths that are not content keys.</summary>
    public static string? EntryFor(string path)
    {
        if (!ContentKey.TryParse(path, out var key))
        {
            return null;
        }

        return key.Rendition is null ? key.TitleId : string.Concat(key.TitleId, "/", key.Rendition);
    }

    /// <summary>Records that <paramref name="key"/> (for <paramref name="path"/>) is now held in <paramref name="tier"/>.</summary>
    public void Held(ulong key, string path, InventoryTier tier)
    {
        lock (_lock)
        {
            if (_objects.TryGetValue(key, out var held))
            {
                _objects[key] = (held.Entry, held.Tiers | tier);
                return;
            }

            var entry = EntryFor(path);
            if (entry is null)
            {
                return;
            }

            _objects[key] = (entry, tier);
            _objectsPerEntry[entry] = _objectsPerEntry.GetValueOrDefault(entry) + 1;
        }
    }

    /// <summary>Records that <paramref name="key"/> left <paramref name="tier"/>; unknown keys are ignored.</summary>
    public void Dropped(ulong key, InventoryTier tier)
    {
        lock (_lock)
        {
            if (!_objects.TryGetValue(key, out var held))
            {
                return;
            }

            var left = held.Tiers & ~tier;
            if (left != InventoryTier.None)
            {
                _objects[key] = (held.Entry, left);
                return;
            }

            _objects.Remove(key);
            var count = _objectsPerEntry[held.Entry] - 1;
            if (count == 0)
            {
                _objectsPerEntry.Remove(held.Entry);
            }
            else
            {
                _objectsPerEntry[held.Entry] = count;
            }
        }
    }

    /// <summary>The entries held now.</summary>
    /// <summary>The entry (<c>"{title}"</c> or <c>"{title}/{rendition}"</c>) of a held object, or null when the key is not accounted for.</summary>
    public string? EntryOf(ulong key)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(key, out var held) ? held.Entry : null;
        }
    }

    public HashSet<string> Snapshot()
    {
        lock (_lock)
        {
            return new HashSet<string>(_objectsPerEntry.Keys, StringComparer.Ordinal);
        }
    }
}
