using OpenConnect.Testing;

namespace OpenConnect.Docs.Tests;

public sealed class MarkdownLinkTests
{
    [Fact]
    public void Every_relative_link_in_the_docs_resolves_to_a_file_and_anchor()
    {
        var root = RepositoryPaths.Root;
        var anchorCache = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var broken = new List<string>();
        var checkedLinks = 0;
        foreach (var file in MarkdownLinks.Files(root))
        {
            foreach (var link in MarkdownLinks.Links(file, File.ReadAllText(file)))
            {
                checkedLinks++;
                var hash = link.Target.IndexOf('#');
                var path = Uri.UnescapeDataString(hash < 0 ? link.Target : link.Target[..hash]);
                var anchor = hash < 0 ? null : Uri.UnescapeDataString(link.Target[(hash + 1)..]);
                var target = path.Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, path));
                var where = $"{Path.GetRelativePath(root, file)}:{link.Line}: ({link.Target})";
                if (!File.Exists(target) && !Directory.Exists(target))
                {
                    broken.Add($"{where} names {Path.GetRelativePath(root, target)}, which does not exist");
                    continue;
                }

                if (anchor is null || !target.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (!anchorCache.TryGetValue(target, out var anchors))
                {
                    anchors = MarkdownLinks.Anchors(File.ReadAllText(target));
                    anchorCache[target] = anchors;
                }

                if (!anchors.Contains(anchor))
                {
                    broken.Add($"{where} names the anchor #{anchor}, which {Path.GetRelativePath(root, target)} has no heading for");
                }
            }
        }

        Assert.True(checkedLinks > 50, $"only {checkedLinks} relative links found: the scan is not reading the docs");
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    [Theory]
    [InlineData("The demo and the web app", "the-demo-and-the-web-app")]
    [InlineData("`./run.sh` options", "runsh-options")]
    [InlineData("The content-aware policy (`video`)", "the-content-aware-policy-video")]
    [InlineData("`Appliance:Cache`", "appliancecache")]
    [InlineData("Fill controller: popularity and placement", "fill-controller-popularity-and-placement")]
    [InlineData("Packages (Debian 12, Ubuntu 22.04 and later)", "packages-debian-12-ubuntu-2204-and-later")]
    [InlineData("See [the map](../ARCHITECTURE.md) first", "see-the-map-first")]
    public void Headings_slug_as_github_slugs_them(string heading, string slug)
    {
        Assert.Equal(slug, MarkdownLinks.Slug(heading));
    }

    [Fact]
    public void Duplicate_headings_get_numbered_anchors_and_code_is_not_read()
    {
        var text = "# Appliance\n\n## Appliance\n\n```\n[not a link](missing.md)\n# not a heading\n```\n\nSee `[code](nope.md)` and [real](other.md#x).\n";

        var anchors = MarkdownLinks.Anchors(text);
        var links = MarkdownLinks.Links("f.md", text).ToList();

        Assert.Equal(["appliance", "appliance-1"], anchors.Order());
        var link = Assert.Single(links);
        Assert.Equal(("other.md#x", 10), (link.Target, link.Line));
    }
}
