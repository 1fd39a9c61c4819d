namespace OpenConnect.ConfigDocs;

/// <summary>Reads the Options classes and produces the text docs/configuration.md should have.</summary>
public static class ConfigurationDocs
{
    /// <summary>The document's expected text, given its current text (its prose is kept).</summary>
    public static string Expected(string current, out IReadOnlyList<RootSection> roots)
    {
        roots = OptionsCatalog.Read(XmlDocumentation.Load(OptionsCatalog.RoleAssemblies));
        return ConfigurationDocument.Update(current, roots);
    }
}
