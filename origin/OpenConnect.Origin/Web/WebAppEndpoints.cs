using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace OpenConnect.Origin.Web;

/// <summary>
/// The web app's URLs: the page routes (<c>/</c>, <c>/search</c>, <c>/watch/…</c>, <c>/channel/…</c>,
/// <c>/upload</c>, <c>/login</c>, <c>/register</c>, <c>/qoe</c>, <c>/operator</c>, and anything under <c>/app/</c>
/// that is not a file) all answer <c>index.html</c>, which routes in the browser; files under
/// <c>/app/</c> come from the build. Hashed assets are cached for a year, everything else is
/// revalidated. <c>/app/config.json</c> tells the page where steering is.
/// </summary>
internal static class WebAppEndpoints
{
    private static readonly string[] PageRoutes = ["/", "/search", "/watch/{**rest}", "/channel/{**rest}", "/upload", "/login", "/register", "/qoe", "/operator"];

    public static void Map(WebApplication app)
    {
        foreach (var route in PageRoutes)
        {
            app.MapGet(route, (HttpContext context, WebAppFiles files) => IndexAsync(context, files)).ExcludeFromDescription();
        }

        app.MapGet("/app/config.json", (HttpContext context, IOptions<OriginOptions> options) =>
        {
            context.Response.Headers.CacheControl = "no-cache";
            // steeringUrl stays for pages built before the list: the first address.
            var addresses = options.Value.Web.EffectiveSteeringUrls();
            return Results.Json(new { steeringUrl = addresses[0], steeringUrls = addresses });
        }).ExcludeFromDescription();

        app.MapGet("/app/{**path}", (string path, HttpContext context, WebAppFiles files) =>
        {
            if (files.Find(path) is not { } file)
            {
                // A page route the browser reloaded (or a deep link): the app decides what it shows.
                return Path.HasExtension(path) ? Results.NotFound(new { error = $"no file /app/{path} in the web app build" }) : IndexAsync(context, files);
            }

            context.Response.Headers.CacheControl = path.StartsWith("assets/", StringComparison.Ordinal) ? "public, max-age=31536000, immutable" : "no-cache";
            return Results.File(file.PhysicalPath!, WebAppFiles.ContentTypeOf(path), lastModified: file.LastModified, entityTag: ETagOf(file));
        }).ExcludeFromDescription();
    }

    private static IResult IndexAsync(HttpContext context, WebAppFiles files)
    {
        if (files.Find("index.html") is not { } index)
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Content(
                $"<!doctype html><meta charset=utf-8><title>Web app not built</title><h1>The web app is not built</h1><p>The origin serves the web app from <code>{System.Net.WebUtility.HtmlEncode(files.Directory)}</code>, which has no <code>index.html</code>. Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (./run.sh and ./test.sh do this), or point <code>Origin:Web:Directory</code> at a build.</p>",
                "text/html; charset=utf-8",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        context.Response.Headers.CacheControl = "no-cache";
        return Results.File(index.PhysicalPath!, "text/html; charset=utf-8", lastModified: index.LastModified, entityTag: ETagOf(index));
    }

    private static EntityTagHeaderValue ETagOf(Microsoft.Extensions.FileProviders.IFileInfo file) =>
        new($"\"{file.LastModified.UtcTicks:x}-{file.Length:x}\"");
}
