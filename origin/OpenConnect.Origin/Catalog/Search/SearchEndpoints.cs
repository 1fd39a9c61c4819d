using System.Globalization;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary><c>GET /api/v1/search?q=&amp;channel=&amp;tag=&amp;minDuration=&amp;maxDuration=&amp;sort=&amp;limit=&amp;cursor=</c>.</summary>
internal static class SearchEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/search", (HttpContext context, TitleSearch search) =>
        {
            var query = context.Request.Query;
            var q = query["q"].ToString();
            if (q.Length > ApiLimits.MaxQueryLength)
            {
                return ApiErrors.BadRequest($"q must be at most {ApiLimits.MaxQueryLength} characters");
            }

            if (!ApiLimits.TryPageSize(query["limit"], out var limit, out var error))
            {
                return error!;
            }

            SearchSort? sort = query["sort"].ToString() switch
            {
                "" or "relevance" => SearchSort.Relevance,
                "recent" => SearchSort.Recent,
                "views" => SearchSort.Views,
                "trending" => SearchSort.Trending,
                _ => null,
            };
            if (sort is null)
            {
                return ApiErrors.BadRequest("sort must be relevance, recent, views or trending");
            }

            if (!TryDuration(query["minDuration"], out var min) || !TryDuration(query["maxDuration"], out var max))
            {
                return ApiErrors.BadRequest("minDuration and maxDuration must be non-negative numbers of seconds");
            }

            var offset = 0;
            var cursor = query["cursor"].ToString();
            if (cursor.Length > 0)
            {
                if (!Cursor.TryDecode(cursor, "s", 1, out var values) || values[0] < 0 || values[0] > TitleSearch.MaxOffset)
                {
                    return ApiErrors.BadRequest("cursor is not a cursor of this list");
                }

                offset = (int)values[0];
            }

            var channel = query["channel"].ToString();
            var tag = query["tag"].ToString();
            var request = new SearchRequest(q, channel.Length == 0 ? null : channel, tag.Length == 0 ? null : tag, min, max, sort.Value, limit, offset);
            return Results.Ok(search.Search(request));
        }).Produces<SearchResult>().WithName("Search");
    }

    private static bool TryDuration(string? text, out double? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed))
        {
            value = parsed;
            return true;
        }

        return false;
    }
}
