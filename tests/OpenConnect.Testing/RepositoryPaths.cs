namespace OpenConnect.Testing;

/// <summary>Where the repository is, seen from a test's output directory.</summary>
public static class RepositoryPaths
{
    /// <summary>The directory holding <c>OpenConnect.sln</c>, found above the test's output directory.</summary>
    public static string Root
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OpenConnect.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("repository root (OpenConnect.sln) not found above " + AppContext.BaseDirectory);
        }
    }
}
