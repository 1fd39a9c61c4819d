using OpenConnect.ConfigDocs;

namespace OpenConnect.Docs.Tests;

public sealed class ConfigurationDocumentTests
{
    private static readonly RootSection Sample = new("Sample", "Sample.Assembly",
    [
        new OptionsSection("Sample", "Sample settings.", [new OptionRow("Sample:Size", "integer", "4", "How big | how many.")]),
    ]);

    [Fact]
    public void Update_rewrites_the_block_and_keeps_the_prose_around_it()
    {
        var text = "# Configuration\n\nProse before.\n\n<!-- BEGIN options Sample (old) -->\nstale\n<!-- END options Sample -->\n\nProse after.\n";

        var updated = ConfigurationDocument.Update(text, [Sample]);

        Assert.StartsWith("# Configuration\n\nProse before.\n\n<!-- BEGIN options Sample (generated from Sample.Assembly", updated, StringComparison.Ordinal);
        Assert.EndsWith("<!-- END options Sample -->\n\nProse after.\n", updated, StringComparison.Ordinal);
        Assert.DoesNotContain("stale", updated, StringComparison.Ordinal);
        Assert.Contains("| `Sample:Size` | integer | 4 | How big \\| how many. |", updated, StringComparison.Ordinal);
        Assert.Equal(updated, ConfigurationDocument.Update(updated, [Sample]));
    }

    [Fact]
    public void A_section_without_a_block_is_appended_and_a_block_without_a_section_removed()
    {
        var text = "# Configuration\n\n<!-- BEGIN options Gone (x) -->\nold\n<!-- END options Gone -->\n\nKept.\n";

        var updated = ConfigurationDocument.Update(text, [Sample]);

        Assert.DoesNotContain("Gone", updated, StringComparison.Ordinal);
        Assert.Contains("Kept.\n\n## `Sample`\n\n<!-- BEGIN options Sample ", updated, StringComparison.Ordinal);
    }

    [Fact]
    public void A_marker_quoted_inside_a_line_is_not_a_block()
    {
        var text = "Blocks open with `<!-- BEGIN options X -->` and close with `<!-- END options X -->`.\n";

        var updated = ConfigurationDocument.Update(text, []);

        Assert.Equal(text, updated);
    }

    [Fact]
    public void A_block_without_its_end_marker_is_refused()
    {
        var text = "<!-- BEGIN options Sample (x) -->\nno end\n";

        var error = Assert.Throws<InvalidOperationException>(() => ConfigurationDocument.Update(text, [Sample]));
        Assert.Contains("END options Sample", error.Message, StringComparison.Ordinal);
    }
}
