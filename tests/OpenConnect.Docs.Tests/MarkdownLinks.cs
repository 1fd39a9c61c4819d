using System.Text;
using System.Text.RegularExpressions;

namespace OpenConnect.Docs.Tests;

/// <summary>A relative link in a markdown file: its line and target (path, anchor, or both).</summary>
public sealed record MarkdownLink(string File, int Line, string Target);

/// <summary>
/// Markdown as GitHub reads it, as far as links go: the links outside code, and the anchors a
/// file offers (its headings, slugged the way GitHub slugs them, and explicit <c>id</c>/<c>name</c> anchors).
/// </summary>
public static partial class MarkdownLinks
{
    private static readonly string[] SkippedFolders = [".git", "node_modules", "bin", "obj", "TestResults", "dist", ".openconnect"];

    /// <summary>Every markdown file of the repository, outside build output and installed packages.</summary>
    public static IEnumerable<string> Files(string root)
    {
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            foreach (var file in Directory.EnumerateFiles(directory, "*.md"))
            {
                yield return file;
            }

            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                if (!SkippedFolders.Contains(Path.GetFileName(child)))
                {
                    pending.Push(child);
                }
            }
        }
    }

    /// <summary>The relative links of a file (absolute URLs and mail addresses left out).</summary>
    public static IEnumerable<MarkdownLink> Links(string file, string text)
    {
        var lines = ProseLines(text);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = CodeSpan().Replace(lines[i], "");
            foreach (Match match in InlineLink().Matches(line))
            {
                var target = match.Groups["target"].Value.Trim('<', '>');
                if (!IsExternal(target))
                {
                    yield return new MarkdownLink(file, i + 1, target);
                }
            }

            if (ReferenceDefinition().Match(line) is { Success: true } reference && !IsExternal(reference.Groups["target"].Value))
            {
                yield return new MarkdownLink(file, i + 1, reference.Groups["target"].Value);
            }
        }
    }

    /// <summary>The anchors a markdown file offers: GitHub's heading slugs (duplicates numbered) and explicit ids.</summary>
    public static HashSet<string> Anchors(string text)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in ProseLines(text))
        {
            foreach (Match match in ExplicitAnchor().Matches(line))
            {
                anchors.Add(match.Groups["id"].Value);
            }

            var heading = Heading().Match(line);
            if (!heading.Success)
            {
                continue;
            }

            var slug = Slug(heading.Groups["text"].Value);
            if (seen.TryGetValue(slug, out var count))
            {
                seen[slug] = count + 1;
                anchors.Add($"{slug}-{count}");
            }
            else
            {
                seen[slug] = 1;
                anchors.Add(slug);
            }
        }

        return anchors;
    }

    /// <summary>GitHub's heading slug: link text for links, lower case, punctuation dropped, spaces to hyphens.</summary>
    public static string Slug(string heading)
    {
        var text = InlineLink().Replace(heading.Trim(), m => m.Groups["text"].Value);
        var slug = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_')
            {
                slug.Append(c);
            }
            else if (c == ' ')
            {
                slug.Append('-');
            }
        }

        return slug.ToString();
    }

    private static bool IsExternal(string target) =>
        target.Length == 0 || target.StartsWith("//", StringComparison.Ordinal) || Scheme().IsMatch(target);

    /// <summary>The file's lines with fenced code blocks blanked (line numbers kept).</summary>
    private static List<string> ProseLines(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        string? fence = null;
        for (var i = 0; i < lines.Count; i++)
        {
            var trimmed = lines[i].TrimStart();
            var opens = trimmed.StartsWith("```", StringComparison.Ordinal) ? "```" : trimmed.StartsWith("~~~", StringComparison.Ordinal) ? "~~~" : null;
            if (fence is null && opens is not null)
            {
                fence = opens;
                lines[i] = "";
            }
            else if (fence is not null)
            {
                if (trimmed.StartsWith(fence, StringComparison.Ordinal))
                {
                    fence = null;
                }

                lines[i] = "";
            }
        }

        return lines;
    }

    [GeneratedRegex(@"`+[^`]*`+")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s{0,3}\[[^\]]+\]:\s*(?<target>\S+)")]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"^\s{0,3}#{1,6}\s+(?<text>.*?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"<a\s+(?:name|id)=""(?<id>[^""]+)""")]
    private static partial Regex ExplicitAnchor();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex Scheme();
}
