namespace OpenConnect.Testing;

/// <summary>Reads what an HLS playlist refers to, for tests that fetch a title file by file.</summary>
public static class PlaylistUris
{
    /// <summary>The URIs a playlist references: its URI lines and the <c>URI="…"</c> attributes of its tags.</summary>
    public static IEnumerable<string> In(string playlist)
    {
        foreach (var raw in playlist.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (!line.StartsWith('#'))
            {
                yield return line;
                continue;
            }

            var at = line.IndexOf("URI=\"", StringComparison.Ordinal);
            if (at >= 0)
            {
                var start = at + 5;
                yield return line[start..line.IndexOf('"', start)];
            }
        }
    }
}
