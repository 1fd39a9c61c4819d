using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace OpenConnect.Origin.Web;

/// <summary>
/// The built web app on disk (<c>index.html</c> plus <c>assets/</c> with content-hashed names). The
/// folder is looked at per request, so a rebuild is picked up without a restart and a missing build
/// is reported instead of a blank page.
/// </summary>
public sealed class WebAppFiles
{
    private static readonly FileExtensionContentTypeProvider Types = new();
    private readonly PhysicalFileProvider? _files;

    public WebAppFiles(string directory)
    {
        Directory = directory;
        _files = System.IO.Directory.Exists(directory) ? new PhysicalFileProvider(directory) : null;
    }

    public string Directory { get; }

    /// <summary>The file at <paramref name="relativePath"/> inside the build, or null (missing, a folder, or outside it).</summary>
    public IFileInfo? Find(string relativePath)
    {
        if (_files is null || relativePath.Length == 0 || relativePath.Contains("..", StringComparison.Ordinal) || relativePath.Contains('\\'))
        {
            return null;
        }

        var file = _files.GetFileInfo(relativePath);
        return file.Exists && !file.IsDirectory && file.PhysicalPath is not null ? file : null;
    }

    public static string ContentTypeOf(string path) =>
        Types.TryGetContentType(path, out var type)
            ? type.StartsWith("text/", StringComparison.Ordinal) || type == "application/javascript" || type == "text/javascript" ? type + "; charset=utf-8" : type
            : "application/octet-stream";
}
