using OpenConnect.ConfigDocs;
using OpenConnect.Testing;

namespace OpenConnect.Docs.Tests;

public sealed class ConfigurationDocsTests
{
    private static readonly Lazy<IReadOnlyList<RootSection>> Roots =
        new(() => OptionsCatalog.Read(XmlDocumentation.Load(OptionsCatalog.RoleAssemblies)));

    [Fact]
    public void Committed_configuration_doc_is_what_the_generator_writes()
    {
        var path = Path.Combine(RepositoryPaths.Root, ConfigurationDocument.RelativePath);
        var committed = File.ReadAllText(path);
        var expected = ConfigurationDocs.Expected(committed, out _);
        if (expected == committed)
        {
            return;
        }

        var committedLines = committed.Split('\n');
        var expectedLines = expected.Split('\n');
        var line = 0;
        while (line < committedLines.Length && line < expectedLines.Length && committedLines[line] == expectedLines[line])
        {
            line++;
        }

        Assert.Fail(
            $"{ConfigurationDocument.RelativePath} differs from the Options classes and their XML doc comments. " +
            $"Regenerate it with: {ConfigurationDocument.RegenerateCommand}\n" +
            $"first difference at line {line + 1}:\n" +
            $"  committed: {(line < committedLines.Length ? committedLines[line] : "(end of file)")}\n" +
            $"  generated: {(line < expectedLines.Length ? expectedLines[line] : "(end of file)")}");
    }

    [Fact]
    public void Every_option_has_a_description()
    {
        var undocumented = OptionsCatalog.Undocumented(Roots.Value).ToList();
        Assert.True(undocumented.Count == 0, "options without an XML doc summary (document them in their Options class): " + string.Join(", ", undocumented));
    }

    [Fact]
    public void Every_role_section_is_read()
    {
        var names = Roots.Value.Select(r => r.Name).ToList();
        Assert.Subset(names.ToHashSet(), new HashSet<string> { "Appliance", "Origin", "Steering", "FillController", "ControlTls", "Management" });
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Theory]
    [InlineData("Appliance:Cache:RamBytes", "integer", "268435456", "Bytes of object bodies kept in RAM.")]
    [InlineData("Appliance:Cache:CheckpointInterval", "duration", "`00:00:30`", "How often the SSD index is checkpointed.")]
    [InlineData("Appliance:Parents:N", "list of string", "none", "Parents tried in order on a cache miss")]
    [InlineData("Appliance:Draining", "boolean", "`false`", "Start draining")]
    [InlineData("Steering:ControlUrl", "string", "`https://127.0.0.1:8280`", "")]
    [InlineData("FillController:Fill:Sites:{name}:TimeZone", "string", "`UTC`", "IANA time zone")]
    [InlineData("FillController:Fill:DefaultWindow:Start", "time of day", "`02:00`", "")]
    [InlineData("Management:Url", "string", "empty", "")]
    public void A_key_carries_its_type_default_and_description(string key, string type, string defaultValue, string descriptionStart)
    {
        var row = Roots.Value.SelectMany(r => r.Sections).SelectMany(s => s.Rows).Single(r => r.Key == key);
        Assert.Equal(type, row.Type);
        Assert.Equal(defaultValue, row.Default);
        Assert.StartsWith(descriptionStart, row.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_default_computed_from_the_machine_is_stated_in_words()
    {
        var rows = Roots.Value.SelectMany(r => r.Sections).SelectMany(s => s.Rows).ToDictionary(r => r.Key);
        Assert.Equal("the host name", rows["Appliance:Id"].Default);
        Assert.Equal("the processor count", rows["Origin:Pipeline:MaxParallelEncodes"].Default);
    }

    [Fact]
    public void Computed_properties_are_not_keys()
    {
        var keys = Roots.Value.SelectMany(r => r.Sections).SelectMany(s => s.Rows).Select(r => r.Key).ToHashSet();
        Assert.DoesNotContain("Appliance:Steering:Enabled", keys);
        Assert.DoesNotContain("ControlTls:IsConfigured", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("Origin:Pipeline:Sandbox:ProbeLimits", StringComparison.Ordinal));
    }
}
