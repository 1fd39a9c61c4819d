using System.Data.Common;
using System.Runtime.InteropServices;
using System.Text;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog.Search;

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
/// Search over published titles with word-tokenized indexes (diacritics removed; FTS5 on SQLite,
/// <c>tsvector</c> on PostgreSQL: see <see cref="SearchIndex"/>). Each query
/// word becomes a term: a whole word, or a prefix for the last word (and for a word that only
/// begins some indexed word); a word that neither is nor begins an indexed word is replaced by its
/// spelling corrections. Terms are AND-ed. Relevance order: matches in title and tags first, ranked
/// by BM25 (title 10 × tags 4) within windows of the <see cref="RankWindow"/> newest matches, then
/// matches that need the description, newest first. Every step reads a bounded number of rows, so
/// a query's cost does not grow with the number of titles a common word occurs in.
/// </summary>
public sealed class TitleSearch
{
    public const int MaxOffset = 10_000;

    /// <summary>Title and tag matches scored together by BM25: the newest this many, then the next this many, and so on.</summary>
    public const int RankWindow = 256;

    /// <summary>A prefix with at most this many completions is searched as those words; with more, as a prefix.</summary>
    private const int MaxCompletions = 16;

    /// <summary>Prefixes up to this length have their own FTS5 prefix index (<c>prefix = '2 3 4'</c>); PostgreSQL's GIN scans a prefix's words.</summary>
    private const int IndexedPrefixLength = 4;

    private readonly CatalogDatabase _database;
    private readonly SearchIndex _index;
    private readonly string _columns;

    public TitleSearch(CatalogDatabase database)
    {
        _database = database;
        _index = database.Search;
        _columns = database.Dialect.TitleColumns;
    }

    public SearchResult Search(SearchRequest request)
    {
        var corrections = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        using var connection = _database.Open();
        var words = TextFold.Words(request.Query ?? "");
        if (words.Count == 0)
        {
            return Browse(connection, request);
        }

        var terms = new List<SearchTerm>();
        foreach (var word in words.Distinct(StringComparer.Ordinal))
        {
            var term = Term(connection, word, asPrefix: word == words[^1], corrections);
            if (term is null)
            {
                // A word nothing matches, not even after correction: no title has all the words.
                return new SearchResult([], null, corrections);
            }

            terms.Add(term);
        }

        var match = _index.Match(terms);
        return request.Sort == SearchSort.Relevance
            ? Ranked(connection, match, request, corrections)
            : Sorted(connection, match, request, corrections);
    }

    /// <summary>The term for one folded query word, or null when no indexed word is or resembles it.</summary>
    private SearchTerm? Term(DbConnection connection, string word, bool asPrefix, Dictionary<string, IReadOnlyList<string>> corrections)
    {
        var quoted = new SearchTerm([word], Prefix: false);
        var prefix = quoted with { Prefix = true };
        if (word.Length < SpellingVocabulary.MinWordLength)
        {
            // Too short for the vocabulary and its trigrams: two letters go to the prefix index, one is a whole word.
            return asPrefix && word.Length > 1 ? prefix : quoted;
        }

        if (!asPrefix && SpellingVocabulary.Contains(connection, word))
        {
            return quoted;
        }

        var completions = SpellingVocabulary.Completions(connection, word, MaxCompletions + 1);
        if (completions.Count > 0)
        {
            // Short prefixes have an index of their own; longer ones would make the index merge the
            // doclists of every word they begin, so they are searched as the (few) words themselves.
            return word.Length <= IndexedPrefixLength || completions.Count > MaxCompletions
                ? prefix
                : new SearchTerm(completions, Prefix: false);
        }

        var fixes = SpellingVocabulary.Corrections(connection, _index, word);
        if (fixes.Count == 0)
        {
            return null;
        }

        corrections[word] = fixes;
        return new SearchTerm(fixes, Prefix: false);
    }

    /// <summary>
    /// Relevance order. Title and tag matches come newest first in windows of <see cref="RankWindow"/>,
    /// each window sorted by BM25; once they run out, description matches follow, newest first. Only
    /// the rows up to the requested page are read.
    /// </summary>
    private SearchResult Ranked(DbConnection connection, string match, SearchRequest request, Dictionary<string, IReadOnlyList<string>> corrections)
    {
        var needed = request.Offset + request.Limit + 1;
        var fetch = (needed + RankWindow - 1) / RankWindow * RankWindow;
        var titleMatches = Candidates(connection, titleAndTags: true, match, request, fetch, ranked: true);
        var order = new List<long>(needed);
        var matches = CollectionsMarshal.AsSpan(titleMatches);
        for (var start = 0; start < matches.Length && order.Count < needed; start += RankWindow)
        {
            var window = matches.Slice(start, Math.Min(RankWindow, matches.Length - start));
            window.Sort(static (a, b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : b.Seq.CompareTo(a.Seq));
            foreach (var candidate in window)
            {
                order.Add(candidate.Seq);
            }
        }

        if (order.Count < needed)
        {
            // Every title and tag match is in hand (fewer than asked for), so excluding them is exact.
            var seen = titleMatches.Select(m => m.Seq).ToHashSet();
            foreach (var (seq, _) in Candidates(connection, titleAndTags: false, match, request, needed - order.Count + seen.Count, ranked: false))
            {
                if (seen.Add(seq))
                {
                    order.Add(seq);
                }
            }
        }

        var page = order.Skip(request.Offset).Take(request.Limit + 1).ToList();
        var rows = new Dictionary<long, TitleView>(page.Count);
        if (page.Count > 0)
        {
            using var read = connection.CreateCommand();
            _index.SelectPublished(read, _columns, page);
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                rows[reader.GetInt64(0)] = PublishedTitles.Read(reader);
            }
        }

        // A title unpublished between the two reads is simply left out of the page.
        var views = page.Where(rows.ContainsKey).Select(seq => rows[seq]).ToList();
        return PageOf(views, request, corrections);
    }

    /// <summary>Up to <paramref name="count"/> matches of one index passing the filters, newest first.</summary>
    private List<(long Seq, double Rank)> Candidates(DbConnection connection, bool titleAndTags, string match, SearchRequest request, int count, bool ranked)
    {
        var found = new List<(long, double)>(Math.Min(count, 1024));
        foreach (var sql in _index.Candidates(titleAndTags, ranked, Filters(request)))
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.With("@match", match).With("@count", count - found.Count);
            AddFilterValues(command, request);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                found.Add((reader.GetInt64(0), reader.GetDouble(1)));
            }

            if (found.Count >= count)
            {
                break;
            }
        }

        return found;
    }

    /// <summary>A text query in another order (recent, views, trending): every match, sorted by that key.</summary>
    private SearchResult Sorted(DbConnection connection, string match, SearchRequest request, Dictionary<string, IReadOnlyList<string>> corrections)
    {
        using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT ").Append(_columns).Append(_index.PublishedMatches);
        command.With("@match", match);
        sql.Append(Filters(request));
        AddFilterValues(command, request);
        return OrderedPage(command, sql, request, corrections);
    }

    /// <summary>No text: published titles passing the filters, newest first unless another order is asked for.</summary>
    private SearchResult Browse(DbConnection connection, SearchRequest request)
    {
        using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT ").Append(_columns).Append(" FROM titles t WHERE t.status = 'published'").Append(Filters(request));
        AddFilterValues(command, request);
        return OrderedPage(command, sql, request, []);
    }

    private static SearchResult OrderedPage(DbCommand command, StringBuilder sql, SearchRequest request, Dictionary<string, IReadOnlyList<string>> corrections)
    {
        sql.Append(" ORDER BY ").Append(request.Sort switch
        {
            SearchSort.Views => "t.views DESC, t.seq DESC",
            SearchSort.Trending => "t.hot_score DESC, t.seq DESC",
            _ => "t.published_at DESC, t.seq DESC",
        });
        sql.Append(" LIMIT @limit OFFSET @offset;");
        command.With("@limit", request.Limit + 1).With("@offset", request.Offset);
        command.CommandText = sql.ToString();
        var items = new List<TitleView>(request.Limit + 1);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            items.Add(PublishedTitles.Read(reader));
        }

        return PageOf(items, request, corrections);
    }

    /// <summary>The channel, tag and duration filters, as conditions on <c>titles t</c> (<c>" AND …"</c>; empty when none).</summary>
    private static string Filters(SearchRequest request) =>
        (request.ChannelId is null ? "" : " AND t.channel_id = @channel")
        + (request.Tag is null ? "" : " AND EXISTS (SELECT 1 FROM title_tags g WHERE g.tag = @tag AND g.seq = t.seq)")
        + (request.MinDuration is null ? "" : " AND t.duration >= @min")
        + (request.MaxDuration is null ? "" : " AND t.duration <= @max");

    /// <summary>The values of the parameters <see cref="Filters"/> names.</summary>
    private static void AddFilterValues(DbCommand command, SearchRequest request)
    {
        if (request.ChannelId is not null)
        {
            command.With("@channel", request.ChannelId);
        }

        if (request.Tag is not null)
        {
            command.With("@tag", TextFold.Fold(request.Tag.Trim()));
        }

        if (request.MinDuration is not null)
        {
            command.With("@min", request.MinDuration.Value);
        }

        if (request.MaxDuration is not null)
        {
            command.With("@max", request.MaxDuration.Value);
        }
    }

    /// <summary>One page from up to <c>Limit + 1</c> items: the extra one says whether a next page exists.</summary>
    private static SearchResult PageOf(List<TitleView> items, SearchRequest request, Dictionary<string, IReadOnlyList<string>> corrections)
    {
        string? next = null;
        if (items.Count > request.Limit)
        {
            items.RemoveRange(request.Limit, items.Count - request.Limit);
            next = request.Offset + request.Limit <= MaxOffset ? Cursor.Encode("s", request.Offset + request.Limit) : null;
        }

        return new SearchResult(items, next, corrections);
    }
}
