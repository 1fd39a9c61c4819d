using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace OpenConnect.ConfigDocs;

/// <summary>
/// The XML documentation files of the role assemblies (written beside each assembly by
/// <c>GenerateDocumentationFile</c>), read as plain markdown text: <c>&lt;c&gt;</c> becomes code,
/// <c>&lt;see cref&gt;</c> the member's short name, paragraphs one line.
/// </summary>
public sealed class XmlDocumentation
{
    private readonly Dictionary<string, XElement> _members = new(StringComparer.Ordinal);

    public static XmlDocumentation Load(IEnumerable<Assembly> assemblies)
    {
        var docs = new XmlDocumentation();
        foreach (var assembly in assemblies)
        {
            var path = Path.ChangeExtension(assembly.Location, ".xml");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"the XML documentation of {assembly.GetName().Name} is missing (GenerateDocumentationFile must be on for it)", path);
            }

            foreach (var member in XDocument.Load(path).Descendants("member"))
            {
                var name = member.Attribute("name")?.Value;
                if (name is not null)
                {
                    docs._members[name] = member;
                }
            }
        }

        return docs;
    }

    /// <summary>The summary of a type, or empty.</summary>
    public string Summary(Type type) => Element("T:" + DocName(type), "summary");

    /// <summary>The summary of a property, or empty.</summary>
    public string Summary(PropertyInfo property) => Element(PropertyId(property), "summary");

    /// <summary>The <c>&lt;value&gt;</c> of a property: a default stated in words where the code computes it from the machine.</summary>
    public string Value(PropertyInfo property) => Element(PropertyId(property), "value");

    private static string PropertyId(PropertyInfo property) => "P:" + DocName(property.DeclaringType!) + "." + property.Name;

    private static string DocName(Type type) => type.FullName!.Replace('+', '.');

    private string Element(string id, string element)
    {
        if (!_members.TryGetValue(id, out var member))
        {
            return "";
        }

        var node = member.Element(element);
        return node is null ? "" : Markdown(node);
    }

    private static string Markdown(XElement element)
    {
        var text = new StringBuilder();
        Append(text, element);
        return string.Join(' ', text.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    private static void Append(StringBuilder text, XElement element)
    {
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t:
                    text.Append(t.Value);
                    break;
                case XElement { Name.LocalName: "c" } code:
                    text.Append('`').Append(code.Value.Trim()).Append('`');
                    break;
                case XElement { Name.LocalName: "see" or "seealso" } see:
                    var target = see.Attribute("cref")?.Value ?? see.Attribute("langword")?.Value ?? see.Attribute("href")?.Value ?? "";
                    var shortName = see.Value.Length > 0 ? see.Value : ShortName(target);
                    text.Append('`').Append(shortName).Append('`');
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } reference:
                    text.Append('`').Append(reference.Attribute("name")?.Value).Append('`');
                    break;
                case XElement { Name.LocalName: "para" or "br" } paragraph:
                    text.Append(' ');
                    Append(text, paragraph);
                    text.Append(' ');
                    break;
                case XElement other:
                    Append(text, other);
                    break;
            }
        }
    }

    private static string ShortName(string cref)
    {
        var name = cref.Contains(':') ? cref[(cref.IndexOf(':') + 1)..] : cref;
        var parenthesis = name.IndexOf('(');
        if (parenthesis >= 0)
        {
            name = name[..parenthesis];
        }

        return name[(name.LastIndexOf('.') + 1)..];
    }
}
