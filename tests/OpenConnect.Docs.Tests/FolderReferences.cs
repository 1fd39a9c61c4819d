using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OpenConnect.Docs.Tests;

/// <summary>One reference from a source file in one folder of a project to another folder of it.</summary>
public sealed record FolderReference(string From, string To, string File, int Line, string Text);

/// <summary>
/// The folder-to-folder references of one project, read from its sources' syntax: <c>using</c>
/// directives naming a folder's namespace, and names qualified with one (<c>OpenConnect.Appliance.Caching.X</c>,
/// or <c>Caching.X</c> for a type declared in <c>Caching/</c>). A file's folder is the first folder
/// under the project; files at the project's top level are its composition root, <c>(root)</c>.
/// </summary>
public static class FolderReferences
{
    public const string Root = "(root)";

    public static IReadOnlyList<FolderReference> Read(string projectDirectory, string rootNamespace)
    {
        var files = Directory.EnumerateFiles(projectDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(projectDirectory, f).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
            .Select(f => (Path: f, Folder: FolderOf(projectDirectory, f), Tree: CSharpSyntaxTree.ParseText(File.ReadAllText(f), path: f)))
            .ToList();
        var folders = Folders(projectDirectory);
        var typesByFolder = files
            .GroupBy(f => f.Folder)
            .ToDictionary(g => g.Key, g => g.SelectMany(f => f.Tree.GetRoot().DescendantNodes().OfType<BaseTypeDeclarationSyntax>()).Select(t => t.Identifier.Text).ToHashSet(StringComparer.Ordinal));
        var references = new List<FolderReference>();
        foreach (var (path, folder, tree) in files)
        {
            var relative = Path.GetRelativePath(projectDirectory, path);
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                var target = node switch
                {
                    UsingDirectiveSyntax @using when @using.NamespaceOrType is { } name => FromNamespace(Text(name), rootNamespace, folders),
                    QualifiedNameSyntax or MemberAccessExpressionSyntax when node.Parent is not (QualifiedNameSyntax or MemberAccessExpressionSyntax) && node.FirstAncestorOrSelf<UsingDirectiveSyntax>() is null =>
                        FromQualifiedName(Text(node), rootNamespace, folders, typesByFolder),
                    _ => null,
                };
                if (target is not null && target != folder)
                {
                    var line = node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                    references.Add(new FolderReference(folder, target, relative, line, node.ToString()));
                }
            }
        }

        return references;
    }

    /// <summary>The project's folders that hold sources (not bin, obj or Properties).</summary>
    public static IReadOnlySet<string> Folders(string projectDirectory) =>
        Directory.EnumerateDirectories(projectDirectory)
            .Select(Path.GetFileName)
            .Where(d => d is not ("bin" or "obj" or "Properties") && Directory.EnumerateFiles(Path.Combine(projectDirectory, d!), "*.cs", SearchOption.AllDirectories).Any())
            .Select(d => d!)
            .ToHashSet(StringComparer.Ordinal);

    private static string FolderOf(string projectDirectory, string file)
    {
        var parts = Path.GetRelativePath(projectDirectory, file).Split(Path.DirectorySeparatorChar);
        return parts.Length > 1 ? parts[0] : Root;
    }

    private static string Text(SyntaxNode node) =>
        string.Concat(node.ToString().Where(c => !char.IsWhiteSpace(c))).Replace("global::", "", StringComparison.Ordinal);

    private static string? FromNamespace(string name, string rootNamespace, IReadOnlySet<string> folders)
    {
        if (!name.StartsWith(rootNamespace + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var next = name[(rootNamespace.Length + 1)..].Split('.')[0];
        return folders.Contains(next) ? next : null;
    }

    private static string? FromQualifiedName(string name, string rootNamespace, IReadOnlySet<string> folders, Dictionary<string, HashSet<string>> typesByFolder)
    {
        if (FromNamespace(name, rootNamespace, folders) is { } folder)
        {
            return folder;
        }

        // A name relative to the root namespace, e.g. Control.PublicUrls: the folder's own type after it.
        var parts = name.Split('.');
        return parts.Length > 1 && folders.Contains(parts[0]) && typesByFolder.TryGetValue(parts[0], out var types) && types.Contains(Generic(parts[1]))
            ? parts[0]
            : null;
    }

    private static string Generic(string name)
    {
        var angle = name.IndexOf('<');
        return angle < 0 ? name : name[..angle];
    }
}
