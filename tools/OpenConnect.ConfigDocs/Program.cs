using OpenConnect.ConfigDocs;

// Rewrites the generated option tables of docs/configuration.md in the repository this runs from.
var root = new DirectoryInfo(Directory.GetCurrentDirectory());
while (root is not null && !File.Exists(Path.Combine(root.FullName, "OpenConnect.sln")))
{
    root = root.Parent;
}

if (root is null)
{
    Console.Error.WriteLine("config-docs: run this inside the repository (no OpenConnect.sln above " + Directory.GetCurrentDirectory() + ")");
    return 2;
}

var path = Path.Combine(root.FullName, ConfigurationDocument.RelativePath);
var current = File.Exists(path) ? File.ReadAllText(path) : "# Configuration\n";
var expected = ConfigurationDocs.Expected(current, out var roots);
var undocumented = OptionsCatalog.Undocumented(roots).ToList();
Directory.CreateDirectory(Path.GetDirectoryName(path)!);
File.WriteAllText(path, expected);
var keys = roots.Sum(r => r.Sections.Sum(s => s.Rows.Count));
Console.WriteLine($"config-docs: {ConfigurationDocument.RelativePath}: {keys} keys in {roots.Count} sections{(expected == current ? ", unchanged" : ", updated")}");
foreach (var key in undocumented)
{
    Console.Error.WriteLine($"config-docs: {key} has no XML doc summary; document it in its Options class");
}

return undocumented.Count == 0 ? 0 : 1;
