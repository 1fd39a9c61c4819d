using OpenConnect.Testing;

namespace OpenConnect.Docs.Tests;

/// <summary>
/// The dependency rules between the folders of each project, as ARCHITECTURE.md ("Dependency rules
/// between folders") states them. A folder may reference only the folders listed for it; the
/// project's top-level files (its composition root: Program, the host, the Options) may reference
/// any. A reference the rules forbid fails, naming the file and line; so does a folder without a rule.
/// Known exceptions are today's references that break a rule which should hold: each is listed
/// with its reason, and the test fails once it is gone so the list only shrinks.
/// </summary>
public sealed class FolderDependencyTests
{
    private sealed record Project(string Directory, string Namespace, IReadOnlyDictionary<string, string[]> Allowed);

    private static readonly Project[] Projects =
    [
        new("appliance/OpenConnect.Appliance", "OpenConnect.Appliance", new Dictionary<string, string[]>
        {
            ["Http"] = [],
            ["Storage"] = [],
            ["Identity"] = [],
            ["Upstream"] = ["Identity"],
            ["Caching"] = ["Storage", "Upstream", "Http"],
            ["Fill"] = ["Caching", "Upstream", "Identity"],
            ["Control"] = ["Caching", "Identity", "Serving"],
            ["Serving"] = ["Caching", "Fill", "Http", "Upstream"],
        }),
        new("origin/OpenConnect.Origin", "OpenConnect.Origin", new Dictionary<string, string[]>
        {
            ["Storage"] = [],
            ["Catalog"] = ["Publishing", "Storage"],
            ["Publishing"] = ["Catalog", "Protection", "Storage"],
            ["Protection"] = ["Storage"],
            ["Pipeline"] = ["Catalog", "Protection", "Publishing", "Storage"],
            ["Ingest"] = ["Catalog", "Pipeline", "Storage"],
            ["Web"] = ["Catalog"],
        }),
        new("steering/OpenConnect.Steering", "OpenConnect.Steering", new Dictionary<string, string[]>
        {
            ["Prefixes"] = [],
            ["Signing"] = [],
            ["Takedown"] = [],
            ["Selection"] = ["ControlPlane", "Prefixes", "Signing"],
            ["ControlPlane"] = ["Fleet", "Selection", "Signing", "Takedown"],
            ["Fleet"] = ["ControlPlane", "Play", "Selection"],
            ["Play"] = ["Selection", "Signing", "Takedown"],
        }),
        new("fill-controller/OpenConnect.FillController", "OpenConnect.FillController", new Dictionary<string, string[]>
        {
            ["Discovery"] = [],
            ["Fleet"] = [],
            ["Placement"] = [],
            ["State"] = [],
            ["History"] = ["Discovery", "Fleet", "State"],
            ["Forecast"] = ["Discovery", "History", "Placement"],
            ["Fill"] = ["Discovery", "Fleet", "History", "Placement", "State"],
        }),
        new("hosting/OpenConnect.Hosting", "OpenConnect.Hosting", new Dictionary<string, string[]>
        {
            ["Database"] = [],
            ["Discovery"] = [],
            ["Fleet"] = [],
            ["Listeners"] = [],
            ["Systemd"] = [],
            ["Tracing"] = [],
            ["Reload"] = ["Systemd"],
        }),
        new("contracts/OpenConnect.Contracts", "OpenConnect.Contracts", new Dictionary<string, string[]>
        {
            ["Content"] = ["Security"],
            ["Security"] = ["Content"],
            ["Fill"] = [],
            ["Fleet"] = [],
            ["Hosting"] = [],
            ["Placement"] = [],
        }),
    ];

    /// <summary>Today's references that break a rule which should hold: (project, from, to) and why it stays for now.</summary>
    private static readonly (string Project, string From, string To, string Reason)[] KnownExceptions =
    [
        ("OpenConnect.Appliance", "Http", "Caching", "ResponsePlanner takes the cache's ObjectInfo; Http should take the validators and length it needs"),
        ("OpenConnect.Appliance", "Identity", "Control", "FleetEnrollment logs the missing control listener through ControlLog"),
        ("OpenConnect.Appliance", "Upstream", "Caching", "a playlist revalidation carries the stale copy's ObjectInfo and ParentFetcher asks Caching's FreshnessRule for the lifetime; it should take only the validators, with the rule in Http"),
        ("OpenConnect.Appliance", "Serving", "Control", "PrefetchService (a control-listener gRPC service) lives in Serving and uses ControlGate/ControlLog, and SegmentServer reads ControlState; PrefetchService belongs in Control"),
        ("OpenConnect.Origin", "Catalog", "Pipeline", "TakedownEndpoints reads the pipeline's TitleStore to refuse deleting a title still in the pipeline; the catalog should see published titles only (the pipeline/catalog split of the origin issue)"),
        ("OpenConnect.Steering", "Signing", "Selection", "TokenIssuer takes Selection's ApplianceView for each pathway's MAC entry; it should take the appliance ids it signs for"),
    ];

    public static TheoryData<string> ProjectNames() => [.. Projects.Select(p => p.Namespace)];

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void No_folder_references_a_folder_its_rule_forbids(string name)
    {
        var project = Projects.Single(p => p.Namespace == name);
        var references = FolderReferences.Read(Path.Combine(RepositoryPaths.Root, project.Directory), project.Namespace);
        var forbidden = references
            .Where(r => r.From != FolderReferences.Root && !IsAllowed(project, r.From, r.To))
            .Select(r => $"{project.Directory}/{r.File}:{r.Line}: {r.From} -> {r.To} ({r.Text}); {r.From} may use only: {Allowed(project, r.From)}")
            .ToList();

        Assert.True(forbidden.Count == 0,
            $"{name}: folder references the dependency rules forbid (ARCHITECTURE.md, \"Dependency rules between folders\"):\n" + string.Join("\n", forbidden));
    }

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void Every_folder_has_a_rule_and_every_rule_a_folder(string name)
    {
        var project = Projects.Single(p => p.Namespace == name);
        var folders = FolderReferences.Folders(Path.Combine(RepositoryPaths.Root, project.Directory));

        Assert.True(folders.SetEquals(project.Allowed.Keys),
            $"{name}: folders {string.Join(", ", folders.Order())} but rules for {string.Join(", ", project.Allowed.Keys.Order())}: " +
            "state the new folder's rule in ARCHITECTURE.md and in FolderDependencyTests");
    }

    [Fact]
    public void Every_known_exception_still_occurs()
    {
        foreach (var (projectName, from, to, reason) in KnownExceptions)
        {
            var project = Projects.Single(p => p.Namespace == projectName);
            var references = FolderReferences.Read(Path.Combine(RepositoryPaths.Root, project.Directory), project.Namespace);
            Assert.True(references.Any(r => r.From == from && r.To == to),
                $"{projectName}: {from} no longer references {to} ({reason}): remove the exception from FolderDependencyTests and ARCHITECTURE.md");
        }
    }

    [Fact]
    public void A_reference_by_using_or_by_qualified_name_is_found()
    {
        var directory = Directory.CreateTempSubdirectory("folder-references-");
        try
        {
            Directory.CreateDirectory(Path.Combine(directory.FullName, "Caching"));
            Directory.CreateDirectory(Path.Combine(directory.FullName, "Serving"));
            File.WriteAllText(Path.Combine(directory.FullName, "Serving", "Server.cs"), "namespace App.Serving;\npublic sealed class Server { }\n");
            File.WriteAllText(Path.Combine(directory.FullName, "Caching", "Cache.cs"),
                "using App.Serving;\nnamespace App.Caching;\n/// <see cref=\"Serving.Server\"/>\npublic sealed class Cache { private readonly Serving.Server _s = new(); private string _t = \"Serving.Server\"; }\n");
            File.WriteAllText(Path.Combine(directory.FullName, "Caching", "Other.cs"),
                "namespace App.Caching;\npublic sealed class Other { public object Make() => new App.Serving.Server(); }\n");

            var references = FolderReferences.Read(directory.FullName, "App");

            Assert.Equal(
                [("Caching", "Serving", "Caching/Cache.cs", 1), ("Caching", "Serving", "Caching/Cache.cs", 4), ("Caching", "Serving", "Caching/Other.cs", 2)],
                references.Select(r => (r.From, r.To, r.File, r.Line)).Order());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static bool IsAllowed(Project project, string from, string to) =>
        (project.Allowed.TryGetValue(from, out var allowed) && allowed.Contains(to))
        || KnownExceptions.Any(e => e.Project == project.Namespace && e.From == from && e.To == to);

    private static string Allowed(Project project, string from) =>
        project.Allowed.TryGetValue(from, out var allowed) ? (allowed.Length == 0 ? "none" : string.Join(", ", allowed)) : "(no rule for this folder)";
}
