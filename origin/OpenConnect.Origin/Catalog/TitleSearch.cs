using System.Text;

namespace OpenConnect.Origin.Catalog;

public enum SearchSort
{
    Relevance,
    Recent,
    Views,
    Trending,
}

/// <summary>A search: free text plus filters, one page of it.</summary>
public sealed record SearchRequest(string? Query, string? ChannelId, string? Tag, double? MinDuration, double? MaxDuration, SearchSort Sort, int Limit, int Offset);

/// <summary>A page of results and the words a misspelled query was corrected to, if any.</summary>
public sealed record SearchResult(IReadOnlyList<TitleView> Items, string? NextCursor, IReadOnlyDictionary<string, IReadOnlyList<string>> Corrections);

/// <summary>
/// Search over published titles. Words of three characters or more go to the FTS5 trigram index
/// (substring match, diacritics removed, BM25 with title 10 × tags 4 × description 1); a word that
/// occurs nowhere is replaced by its spelling corrections; shorter words, which trigrams cannot
/// match, become LIKE conditions on the folded text.
/// </summary>
public sealed class TitleSearch
{
    public const int MaxOffset = 10_000;
    private const string Rank = "titles_fts.rank";

    private readonly CatalogDatabase _database;

    public TitleSearch(CatalogDatabase database) => _database = database;

    public SearchResult Search(SearchRequest request)
    {
        var corrections = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        using var connection = _database.Open();
        var words = TextFold.Words(request.Query ?? "");
        var terms = new List<string>();
        var shortWords = new List<string>();
        var unmatched = false;
        foreach (var word in words.Distinct(StringComparer.Ordinal))
        {
            if (word.Length < SpellingVocabulary.MinWordLength)
            {
                shortWords.Add(word);
            }
            else if (SpellingVocabulary.Contains(connection, word))
            {
                terms.Add(SpellingVocabulary.Quote(word));
            }
            else
            {
                var fixes = SpellingVocabulary.Corrections(connection, word);
                if (fixes.Count == 0)
                {
                    unmatched = true;
                    continue;
                }

                corrections[word] = fixes;
                terms.Add("(" + string.Join(" OR ", fixes.Select(SpellingVocabulary.Quote)) + ")");
            }
        }

        if (words.Count > 0 && terms.Count == 0 && (unmatched || shortWords.Count == 0))
        {
            return new SearchResult([], null, corrections);
        }

        var sql = new StringBuilder();
        using var command = connection.CreateCommand();
        var useFts = terms.Count > 0;
        if (useFts && shortWords.Count == 0 && request.ChannelId is null && request.Tag is null && request.MinDuration is null && request.MaxDuration is null && request.Sort == SearchSort.Relevance)
        {
            // The common case: rank inside FTS5 (only published titles are indexed) and read just the page's rows.
            sql.Append("SELECT ").Append(TitleStore.Columns)
                .Append(" FROM (SELECT rowid, rank FROM titles_fts WHERE titles_fts MATCH $match ORDER BY rank LIMIT $limit OFFSET $offset) f")
                .Append(" JOIN titles t ON t.seq = f.rowid ORDER BY f.rank, t.seq DESC;");
            command.With("$match", string.Join(" AND ", terms)).With("$limit", request.Limit + 1).With("$offset", request.Offset);
            command.CommandText = sql.ToString();
            return Page(command, request, corrections);
        }

        sql.Append("SELECT ").Append(TitleStore.Columns);
        if (useFts)
        {
            sql.Append(" FROM titles_fts JOIN titles t ON t.seq = titles_fts.rowid WHERE titles_fts MATCH $match AND t.status = 'published'");
            command.With("$match", string.Join(" AND ", terms));
        }
        else
        {
            sql.Append(" FROM titles t WHERE t.status = 'published'");
        }

        for (var i = 0; i < shortWords.Count; i++)
        {
            sql.Append(" AND t.fold_all LIKE $like").Append(i).Append(" ESCAPE '\\'");
            command.With("$like" + i, "%" + EscapeLike(shortWords[i]) + "%");
        }

        if (request.ChannelId is not null)
        {
            sql.Append(" AND t.channel_id = $channel");
            command.With("$channel", request.ChannelId);
        }

        if (request.Tag is not null)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM title_tags g WHERE g.tag = $tag AND g.seq = t.seq)");
            command.With("$tag", TextFold.Fold(request.Tag.Trim()));
        }

        if (request.MinDuration is not null)
        {
            sql.Append(" AND t.duration >= $min");
            command.With("$min", request.MinDuration.Value);
        }

        if (request.MaxDuration is not null)
        {
            sql.Append(" AND t.duration <= $max");
            command.With("$max", request.MaxDuration.Value);
        }

        sql.Append(" ORDER BY ").Append(request.Sort switch
        {
            SearchSort.Recent => "t.published_at DESC, t.seq DESC",
            SearchSort.Views => "t.views DESC, t.seq DESC",
            SearchSort.Trending => "t.hot_score DESC, t.seq DESC",
            _ when useFts => Rank + ", t.seq DESC",
            // Short queries: titles that start with the query, then titles containing it, newest first.
            _ when shortWords.Count > 0 => "CASE WHEN t.fold_title LIKE $prefix ESCAPE '\\' THEN 0 WHEN t.fold_title LIKE $like0 ESCAPE '\\' THEN 1 ELSE 2 END, t.published_at DESC, t.seq DESC",
            _ => "t.published_at DESC, t.seq DESC",
        });
        if (request.Sort == SearchSort.Relevance && !useFts && shortWords.Count > 0)
        {
            command.With("$prefix", EscapeLike(shortWords[0]) + "%");
        }

        sql.Append(" LIMIT $limit OFFSET $offset;");
        command.With("$limit", request.Limit + 1).With("$offset", request.Offset);
        command.CommandText = sql.ToString();
        return Page(command, request, corrections);
    }

    private static SearchResult Page(Microsoft.Data.Sqlite.SqliteCommand command, SearchRequest request, Dictionary<string, IReadOnlyList<string>> corrections)
    {
        var items = new List<TitleView>(request.Limit);
        string? next = null;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (items.Count == request.Limit)
            {
                next = request.Offset + request.Limit <= MaxOffset ? Cursor.Encode("s", request.Offset + request.Limit) : null;
                break;
            }

            items.Add(TitleStore.Read(reader));
        }

        return new SearchResult(items, next, corrections);
    }

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
