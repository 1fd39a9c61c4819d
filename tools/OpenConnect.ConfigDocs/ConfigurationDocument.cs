using System.Text;

namespace OpenConnect.ConfigDocs;

/// <summary>
/// docs/configuration.md: hand-written prose with one generated block per root section, between
/// <c>&lt;!-- BEGIN options NAME --&gt;</c> and <c>&lt;!-- END options NAME --&gt;</c>. Updating
/// rewrites only those blocks; a root section without a block gets one appended at the end, and a
/// block whose section no longer exists is removed.
/// </summary>
public static class ConfigurationDocument
{
    /// <summary>Where the document lives, relative to the repository root.</summary>
    public const string RelativePath = "docs/configuration.md";

    /// <summary>The one command that rewrites the document from the Options classes.</summary>
    public const string RegenerateCommand = "dotnet run -c Release --project tools/OpenConnect.ConfigDocs";

    private const string BeginPrefix = "<!-- BEGIN options ";
    private const string EndPrefix = "<!-- END options ";

    public static string Update(string existing, IReadOnlyList<RootSection> roots)
    {
        var text = existing.Replace("\r\n", "\n", StringComparison.Ordinal);
        foreach (var name in BlockNames(text).Where(n => roots.All(r => r.Name != n)).ToList())
        {
            var (start, end) = Find(text, name)!.Value;
            text = text[..start] + text[end..].TrimStart('\n');
        }

        foreach (var root in roots)
        {
            var block = Render(root);
            if (Find(text, root.Name) is var (start, end))
            {
                text = text[..start] + block + text[end..];
            }
            else
            {
                text = text.TrimEnd('\n') + $"\n\n## `{root.Name}`\n\n" + block + "\n";
            }
        }

        return text;
    }

    /// <summary>The generated block of one root section, both markers included.</summary>
    public static string Render(RootSection root)
    {
        var text = new StringBuilder();
        text.Append(BeginPrefix).Append(root.Name).Append(" (generated from ").Append(root.Assembly)
            .Append("'s Options classes: edit their XML doc comments, then run `").Append(RegenerateCommand).Append("`) -->\n");
        foreach (var section in root.Sections)
        {
            text.Append("\n### `").Append(section.Key).Append("`\n\n");
            if (section.Summary.Length > 0)
            {
                text.Append(section.Summary).Append("\n\n");
            }

            if (section.Rows.Count == 0)
            {
                continue;
            }

            text.Append("| key | type | default | meaning |\n|---|---|---|---|\n");
            foreach (var row in section.Rows)
            {
                text.Append("| `").Append(row.Key).Append("` | ").Append(row.Type).Append(" | ").Append(Cell(row.Default))
                    .Append(" | ").Append(Cell(row.Description)).Append(" |\n");
            }
        }

        text.Append('\n').Append(EndPrefix).Append(root.Name).Append(" -->");
        return text.ToString();
    }

    private static string Cell(string text) => EscapePipes(text);

    /// <summary>Escapes table cell separators that are not escaped already.</summary>
    private static string EscapePipes(string text)
    {
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '|' && (i == 0 || text[i - 1] != '\\'))
            {
                result.Append('\\');
            }

            result.Append(text[i]);
        }

        return result.ToString();
    }

    private static IEnumerable<string> BlockNames(string text)
    {
        for (var i = LineStart(text, BeginPrefix, 0); i >= 0; i = LineStart(text, BeginPrefix, i + 1))
        {
            var start = i + BeginPrefix.Length;
            var end = text.IndexOfAny([' ', '\n'], start);
            yield return text[start..(end < 0 ? text.Length : end)];
        }
    }

    /// <summary>The first occurrence of <paramref name="marker"/> at the start of a line, from <paramref name="from"/>; markers quoted in prose are not blocks.</summary>
    private static int LineStart(string text, string marker, int from)
    {
        for (var i = text.IndexOf(marker, from, StringComparison.Ordinal); i >= 0; i = text.IndexOf(marker, i + 1, StringComparison.Ordinal))
        {
            if (i == 0 || text[i - 1] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Start of the begin marker and end of the end marker of one block, or null.</summary>
    private static (int Start, int End)? Find(string text, string name)
    {
        var begin = LineStart(text, BeginPrefix + name + " ", 0);
        if (begin < 0)
        {
            return null;
        }

        var endMarker = EndPrefix + name + " -->";
        var end = LineStart(text, endMarker, begin);
        if (end < 0)
        {
            throw new InvalidOperationException($"{RelativePath}: the block of {name} has a begin marker and no '{endMarker}'");
        }

        return (begin, end + endMarker.Length);
    }
}
