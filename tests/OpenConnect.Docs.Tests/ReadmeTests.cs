using OpenConnect.ConfigDocs;
using OpenConnect.Testing;

namespace OpenConnect.Docs.Tests;

public sealed class ReadmeTests
{
    private static string Readme => File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));

    [Fact]
    public void Quick_start_is_exactly_the_two_commands()
    {
        var text = Readme;
        var start = text.IndexOf("## Quick start\n\n```\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Quick start' section opening with a code block");
        var body = text[(start + "## Quick start\n\n```\n".Length)..];
        var block = body[..body.IndexOf("```", StringComparison.Ordinal)];

        Assert.Equal(["./run.sh", "./test.sh"], block.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void The_operator_entry_and_the_configuration_reference_are_linked()
    {
        var text = Readme;

        Assert.Contains("\n## Installing and running\n", text, StringComparison.Ordinal);
        Assert.Contains("](docs/configuration.md)", text, StringComparison.Ordinal);
        Assert.Contains(ConfigurationDocument.RegenerateCommand, text, StringComparison.Ordinal);
        Assert.Contains("](ARCHITECTURE.md)", text, StringComparison.Ordinal);
    }
}
