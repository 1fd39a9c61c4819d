using OpenConnect.Hosting;

namespace OpenConnect.Steering.Prefixes;

/// <summary>
/// A reload (SIGHUP) rescans the prefix directory even when the watcher saw no change (a file
/// copied in with an old time stamp, a network file system without notifications). A directory that
/// does not load is refused with the reason, and the table in use stays.
/// </summary>
public sealed class PrefixTablesReload(PrefixDirectoryWatcher watcher) : IReloadable
{
    public string Name => "prefix tables (Steering:PrefixDirectory)";

    public bool Reload()
    {
        var before = watcher.Table;
        watcher.Reload(force: true);
        if (watcher.LastError is { } error)
        {
            throw new InvalidOperationException(error);
        }

        return !ReferenceEquals(before, watcher.Table);
    }
}
