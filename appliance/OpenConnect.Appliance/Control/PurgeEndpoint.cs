using OpenConnect.Appliance.Caching;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// <c>POST /control/purge</c> with <c>{"scope":"object","path":"/v/{title}/…"}</c>,
/// <c>{"scope":"title","titleId":"…"}</c> or <c>{"scope":"all"}</c>: drops what the cache holds of
/// it, from RAM and SSD, pins and remembered 404s included, and answers what was dropped. Only on the
/// control listener and only for operators (<see cref="ControlGate"/>); each purge is logged with the
/// operator. A purge does not refuse the content afterwards (the next request fills it again); a
/// takedown at the origin does (see <see cref="Upstream.TakedownSet"/>).
/// </summary>
public static class PurgeEndpoint
{
    public const string Path = "/control/purge";

    /// <summary>The request body.</summary>
    public sealed record PurgeRequest(string? Scope, string? Path, string? TitleId);

    public static void MapPurge(this WebApplication app) =>
        app.MapPost(Path, async (PurgeRequest? body, HttpContext context, SegmentCache cache, ILogger<ControlState> logger) =>
        {
            var (scope, problem) = Parse(body);
            if (scope is null)
            {
                return Results.Json(new { error = problem }, statusCode: StatusCodes.Status400BadRequest);
            }

            var result = await cache.PurgeAsync(scope, context.RequestAborted);
            var described = Describe(scope);
            ControlLog.Purged(logger, ControlGate.Operator(context)?.ToString() ?? "?", described, result.Objects, result.Pins, result.NotFoundEntries);
            return Results.Json(new { scope = described, objects = result.Objects, pins = result.Pins, notFoundEntries = result.NotFoundEntries });
        });

    /// <summary>The scope a request names, or why it names none.</summary>
    public static (PurgeScope? Scope, string? Problem) Parse(PurgeRequest? body)
    {
        switch (body?.Scope)
        {
            case "all":
                return (PurgeScope.Everything, null);
            case "title":
                return ContentKey.IsValidTitleId(body.TitleId)
                    ? (PurgeScope.Title(body.TitleId!), null)
                    : (null, $"titleId '{body.TitleId}' is not a title id (1-{ContentKey.MaxTitleIdLength} characters of [A-Za-z0-9_-])");
            case "object":
                return ContentKey.TryParse(body.Path, out var key)
                    ? (PurgeScope.Object(key), null)
                    : (null, $"path '{body.Path}' is not a content path (/v/{{title}}/{{file}} or /v/{{title}}/{{rendition}}/{{file}})");
            default:
                return (null, "scope must be \"object\" (with path), \"title\" (with titleId) or \"all\"");
        }
    }

    private static string Describe(PurgeScope scope) => scope.All ? "all" : scope.Path is { } path ? $"object {path}" : $"title {string.Join(',', scope.Titles!)}";
}
