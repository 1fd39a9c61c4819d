using System.Collections.Concurrent;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>
/// The appliances steering knows: identity, running instance, last heartbeat, load, health and
/// inventory. Selection reads two indexes without locks: appliances by site and holders by title,
/// both replaced copy-on-write when membership or an inventory changes. Titles held are interned to
/// small integer ids (never reused) so ranking tests holding with a <see cref="TitleIdSet"/>.
/// </summary>
public sealed class ApplianceRegistry
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ApplianceView[]> _bySite = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SiteMember[]> _members = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HolderSet> _holders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _titleIds = new(StringComparer.Ordinal);
    private readonly Lock _indexLock = new();

    public int Count => _entries.Count;

    public IEnumerable<ApplianceView> All => _entries.Values.Select(e => e.View);

    public ReadOnlySpan<ApplianceView> InSite(string site) => _bySite.TryGetValue(site, out var list) ? list : [];

    /// <summary>The appliances of <paramref name="site"/> at their current statuses, for ranking (replaced whenever one's status changes).</summary>
    public ReadOnlySpan<SiteMember> Members(string site) => _members.TryGetValue(site, out var members) ? members : [];

    public ReadOnlySpan<ApplianceView> Holders(string title) => Holders(title, out _);

    /// <summary>The appliances holding <paramref name="title"/>, and its id for <see cref="TitleIdSet.Contains"/> (-1 when none holds it).</summary>
    public ReadOnlySpan<ApplianceView> Holders(string title, out int titleId)
    {
        if (_holders.TryGetValue(title, out var set))
        {
            titleId = set.TitleId;
            return set.Snapshot();
        }

        titleId = -1;
        return [];
    }

    public ApplianceView? Find(string applianceId) => _entries.TryGetValue(applianceId, out var entry) ? entry.View : null;

    /// <summary>Every registered appliance with the SSD bytes it reported (the fill controller's roster).</summary>
    public IEnumerable<(ApplianceView View, long SsdBytes, string ParentUrl)> Roster => _entries.Values.Select(e => (e.View, e.SsdBytes, e.ParentUrl));

    /// <summary>Registers (or re-registers after a restart) an appliance; its inventory starts empty at version 0.</summary>
    public ApplianceView Register(ApplianceIdentity identity, string instanceId, DateTimeOffset now) => RegisterEntry(identity, instanceId, now).View;

    private Entry RegisterEntry(ApplianceIdentity identity, string instanceId, DateTimeOffset now)
    {
        var view = new ApplianceView(identity.ApplianceId, identity.Site, identity.PublicUrl, identity.CapacityBytesPerSecond, identity.MaxConnections,
            new ApplianceStatus(now, 0, 0, CacheHealthy: true, Draining: false, ApplianceStatus.NoTitles) { TitleIds = TitleIdSet.None }, identity.PublicUrlIpv6);
        var entry = new Entry(view, instanceId) { SsdBytes = identity.SsdBytes, ParentUrl = identity.ParentUrl.TrimEnd('/') };
        lock (_indexLock)
        {
            if (_entries.TryGetValue(identity.ApplianceId, out var previous))
            {
                RemoveFromIndexes(previous.View);
            }

            _entries[identity.ApplianceId] = entry;
            _bySite.AddOrUpdate(view.Site, _ => [view], (_, list) => [.. list, view]);
            _members.AddOrUpdate(view.Site, _ => [new SiteMember(view, view.Status)], (_, members) => [.. members, new SiteMember(view, view.Status)]);
            view.OnStatusChanged(RefreshMember);
        }

        return entry;
    }

    /// <summary>
    /// Registers an appliance instance presenting the certificate <paramref name="serial"/>, unless
    /// another instance of the same id under another certificate is live (heartbeat within
    /// <paramref name="liveness"/>): then the reason it is refused. The same instance (a reconnect
    /// after renewal) or the same certificate (a restart of the box holding its key) takes over.
    /// </summary>
    public string? TryRegister(ApplianceIdentity identity, string instanceId, string serial, DateTimeOffset now, TimeSpan liveness)
    {
        lock (_indexLock)
        {
            if (_entries.TryGetValue(identity.ApplianceId, out var live)
                && live.InstanceId != instanceId && live.Serial != serial
                && now - live.View.Status.LastHeartbeat < liveness)
            {
                return $"appliance '{identity.ApplianceId}' is live under another certificate ({live.Serial}); a second instance is refused while it heartbeats";
            }

            RegisterEntry(identity, instanceId, now).Serial = serial;
            return null;
        }
    }

    /// <summary>Forgets an appliance at once (removed from the fleet): no more plays, its heartbeats answered as unknown.</summary>
    public bool Remove(string applianceId)
    {
        lock (_indexLock)
        {
            if (!_entries.TryRemove(applianceId, out var entry))
            {
                return false;
            }

            RemoveFromIndexes(entry.View);
            return true;
        }
    }

    /// <summary>Applies a heartbeat: liveness, load, health and inventory (delta by version, or full).</summary>
    public HeartbeatReply Heartbeat(HeartbeatRequest request, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(request.ApplianceId, out var entry) || !string.Equals(entry.InstanceId, request.InstanceId, StringComparison.Ordinal))
        {
            return new HeartbeatReply { Known = false };
        }

        lock (entry)
        {
            var wantFull = false;
            var titles = entry.View.Status.Titles;
            var titleIds = entry.View.Status.TitleIds;
            if (request.Inventory is { } update)
            {
                var decoded = InventoryCodec.TryDecode(update.ZstdEntries);
                if (decoded is null || (!update.Full && update.BaseVersion != entry.InventoryVersion))
                {
                    wantFull = true;
                }
                else
                {
                    (titles, titleIds) = ApplyInventory(entry, decoded, update.Full);
                    entry.InventoryVersion = update.Version;
                }
            }

            var load = request.Load ?? new ApplianceLoad();
            var health = request.Health ?? new ApplianceHealth { CacheHealthy = true };
            entry.View.Status = new ApplianceStatus(now, load.BytesPerSecondOut, load.Connections, health.CacheHealthy, health.Draining, titles) { TitleIds = titleIds };
            return new HeartbeatReply { Known = true, WantFullInventory = wantFull, InventoryVersion = entry.InventoryVersion };
        }
    }

    private (IReadOnlySet<string> Titles, TitleIdSet Ids) ApplyInventory(Entry entry, InventoryEntries decoded, bool full)
    {
        if (full)
        {
            entry.Items.Clear();
        }

        foreach (var item in decoded.Removed)
        {
            entry.Items.Remove(item);
        }

        foreach (var item in decoded.Added)
        {
            if (TitleOf(item) is not null)
            {
                entry.Items.Add(item);
            }
        }

        var titles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in entry.Items)
        {
            titles.Add(TitleOf(item)!);
        }

        var before = entry.View.Status.Titles;
        lock (_indexLock)
        {
            var ids = new List<int>(titles.Count);
            foreach (var title in titles)
            {
                ids.Add(TitleIdOf(title));
            }

            if (!ReferenceEquals(_entries.GetValueOrDefault(entry.View.Id), entry))
            {
                return (titles, new TitleIdSet(ids));
            }

            foreach (var title in before)
            {
                if (!titles.Contains(title))
                {
                    RemoveHolder(title, entry.View);
                }
            }

            foreach (var title in titles)
            {
                if (!before.Contains(title))
                {
                    _holders.GetOrAdd(title, t => new HolderSet(TitleIdOf(t))).Add(entry.View);
                }
            }

            return (titles, new TitleIdSet(ids));
        }
    }

    /// <summary>The id of <paramref name="title"/>, assigned on first use (the caller holds the index lock).</summary>
    private int TitleIdOf(string title)
    {
        if (!_titleIds.TryGetValue(title, out var id))
        {
            id = _titleIds.Count;
            _titleIds[title] = id;
        }

        return id;
    }

    /// <summary>The title of an inventory entry (<c>{title}</c> or <c>{title}/{rendition}</c>), or null when malformed.</summary>
    public static string? TitleOf(string item)
    {
        var slash = item.IndexOf('/');
        var title = slash < 0 ? item : item[..slash];
        if (!ContentKey.IsValidTitleId(title) || (slash >= 0 && !ContentKey.IsValidRendition(item.AsSpan(slash + 1))))
        {
            return null;
        }

        return title;
    }

    /// <summary>Copies <paramref name="view"/>'s current status into its site's members (copy-on-write; readers never lock).</summary>
    private void RefreshMember(ApplianceView view)
    {
        lock (_indexLock)
        {
            if (!_members.TryGetValue(view.Site, out var members))
            {
                return;
            }

            for (var i = 0; i < members.Length; i++)
            {
                if (ReferenceEquals(members[i].View, view))
                {
                    var updated = (SiteMember[])members.Clone();
                    updated[i] = new SiteMember(view, view.Status);
                    _members[view.Site] = updated;
                    return;
                }
            }
        }
    }

    private void RemoveFromIndexes(ApplianceView view)
    {
        view.OnStatusChanged(_ => { });
        if (_bySite.TryGetValue(view.Site, out var site))
        {
            var remaining = site.Where(v => !ReferenceEquals(v, view)).ToArray();
            if (remaining.Length == 0)
            {
                _bySite.TryRemove(view.Site, out _);
                _members.TryRemove(view.Site, out _);
            }
            else
            {
                _bySite[view.Site] = remaining;
                _members[view.Site] = [.. _members[view.Site].Where(m => !ReferenceEquals(m.View, view))];
            }
        }

        foreach (var title in view.Status.Titles)
        {
            RemoveHolder(title, view);
        }
    }

    private void RemoveHolder(string title, ApplianceView view)
    {
        if (_holders.TryGetValue(title, out var set) && set.Remove(view))
        {
            _holders.TryRemove(title, out _);
        }
    }

    /// <summary>
    /// The appliances holding one title. Changes go to a list; readers get an array snapshot built
    /// on the first read after a change, so loading thousands of inventories costs no copying.
    /// </summary>
    private sealed class HolderSet(int titleId)
    {
        private readonly List<ApplianceView> _list = [];
        private volatile ApplianceView[]? _snapshot;

        public int TitleId { get; } = titleId;

        public void Add(ApplianceView view)
        {
            lock (_list)
            {
                _list.Add(view);
                _snapshot = null;
            }
        }

        /// <summary>Removes <paramref name="view"/>; true when the set is now empty.</summary>
        public bool Remove(ApplianceView view)
        {
            lock (_list)
            {
                _list.Remove(view);
                _snapshot = null;
                return _list.Count == 0;
            }
        }

        public ApplianceView[] Snapshot()
        {
            var snapshot = _snapshot;
            if (snapshot is not null)
            {
                return snapshot;
            }

            lock (_list)
            {
                return _snapshot ??= [.. _list];
            }
        }
    }

    private sealed class Entry(ApplianceView view, string instanceId)
    {
        public ApplianceView View { get; } = view;

        public string InstanceId { get; } = instanceId;

        public HashSet<string> Items { get; } = new(StringComparer.Ordinal);

        public ulong InventoryVersion { get; set; }

        public long SsdBytes { get; init; }

        /// <summary>The appliance's parent listener (empty: none), for the fill controller's sources.</summary>
        public string ParentUrl { get; init; } = "";

        /// <summary>Serial of the certificate the instance registered with (empty when registered in-process).</summary>
        public string Serial { get; set; } = "";
    }
}
