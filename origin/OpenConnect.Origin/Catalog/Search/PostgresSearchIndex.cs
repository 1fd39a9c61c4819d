using System.Data.Common;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// Search on PostgreSQL: two narrow tables with GIN indexes, one row per published title (as SQLite's
/// FTS5 tables), their <c>tsvector</c>s built with the <c>simple</c> configuration from the words
/// <see cref="TextFold"/> makes (so both engines split and fold text alike): <c>search_words</c>, the
/// title (weight A) and tags (weight B), ranked by <c>ts_rank</c> (A 1.0 × B 0.4, the SQLite 10 × 4);
/// <c>search_text</c>, title, tags and description. Spelling corrections come from a <c>pg_trgm</c>
/// GIN index on <c>vocab.word</c>.
/// </summary>
internal sealed class PostgresSearchIndex : SearchIndex
{
    public static readonly PostgresSearchIndex Instance = new();

    /// <summary>The newest rows of a search table the first step of <see cref="Candidates"/> walks (about 1 MB of <c>search_words</c>).</summary>
    internal const int WalkedRows = 8192;

    private PostgresSearchIndex()
    {
    }

    public override void Index(DbConnection connection, DbTransaction transaction, long seq, bool published, string title, string tags, string description)
    {
        using var update = connection.Command(
            published
                ? $"""
                  INSERT INTO search_words (seq, words) VALUES (@seq, {WordsVector("@title", "@tags")})
                  ON CONFLICT (seq) DO UPDATE SET words = excluded.words;
                  INSERT INTO search_text (seq, body) VALUES (@seq, {BodyVector("@title", "@tags", "@description")})
                  ON CONFLICT (seq) DO UPDATE SET body = excluded.body;
                  """
                : "DELETE FROM search_words WHERE seq = @seq; DELETE FROM search_text WHERE seq = @seq;",
            transaction);
        update.With("@seq", seq);
        if (published)
        {
            update.With("@title", Words(title)).With("@tags", Words(tags)).With("@description", Words(description));
        }

        update.ExecuteNonQuery();
    }

    public override void AddedToVocabulary(DbConnection connection, DbTransaction transaction, long id, string word)
    {
        // The trigram index is on vocab.word itself.
    }

    public override List<string> CorrectionCandidates(DbConnection connection, string word, int limit)
    {
        // "%": similar as a whole (pg_trgm.similarity_threshold, 0.3); "%>": @w is similar to a part of
        // the word (word_similarity_threshold, 0.6), e.g. a misspelled beginning. Both use the GIN index.
        using var command = connection.Command(
            """
            SELECT word FROM vocab WHERE word % @w OR word %> @w
            ORDER BY greatest(similarity(word, @w), word_similarity(@w, word)) DESC, word LIMIT @n;
            """).With("@w", word).With("@n", limit);
        var words = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            words.Add(reader.GetString(0));
        }

        return words;
    }

    public override string Match(IReadOnlyList<SearchTerm> terms) => string.Join(" & ", terms.Select(term =>
        term.Words.Count == 1
            ? Quote(term.Words[0]) + (term.Prefix ? ":*" : "")
            : "(" + string.Join(" | ", term.Words.Select(Quote)) + ")"));

    /// <summary>
    /// Two steps. A GIN index answers "which rows match" but not in <c>seq</c> order, so the newest
    /// matches come either from walking the table backwards until enough match (cheap when the terms
    /// are common) or from fetching every match and sorting (cheap when they are rare); PostgreSQL's
    /// planner picks by its estimates and, with the default <c>random_page_cost</c>, walked 18,000
    /// rows for a word in 1.4 % of 100,000 titles (33 ms) where fetching its 1,400 matches took 2 ms.
    /// So the choice is made here: first a walk over the newest <see cref="WalkedRows"/> rows only
    /// (bounded), then, if that did not find enough, the matches older than them through the GIN
    /// index (<c>seq + 0</c> keeps the planner from walking: given <c>seq &lt; bound</c> it walked the
    /// primary key over 90,000 rows, 180 ms, where the bitmap read 1,400): terms common enough to fill the page
    /// stop after the walk, and the rest match less than 1 row in 32, few enough to fetch.
    /// </summary>
    public override IReadOnlyList<string> Candidates(bool titleAndTags, bool ranked, string filters)
    {
        var (table, column) = titleAndTags ? ("search_words", "words") : ("search_text", "body");
        var rank = ranked ? $"-ts_rank(m.{column}, q.q)::float8" : "0::float8";
        var newest = $"SELECT seq, {column} FROM {table} ORDER BY seq DESC LIMIT {WalkedRows}";
        return
        [
            $"SELECT m.seq, {rank} FROM ({newest}) m{(filters.Length > 0 ? " JOIN titles t ON t.seq = m.seq" : "")}, to_tsquery('simple', @match) q(q)"
                + $" WHERE m.{column} @@ q.q{filters} ORDER BY m.seq DESC LIMIT @count;",
            $"SELECT m.seq, {rank} FROM (SELECT s.seq, s.{column} FROM {table} s{(filters.Length > 0 ? " JOIN titles t ON t.seq = s.seq" : "")}, to_tsquery('simple', @match) q(q)"
                + $" WHERE s.{column} @@ q.q AND s.seq + 0 < (SELECT min(n.seq) FROM ({newest}) n){filters} ORDER BY s.seq + 0 DESC LIMIT @count) m,"
                + " to_tsquery('simple', @match) q(q) ORDER BY m.seq DESC;",
        ];
    }

    public override string PublishedMatches => " FROM search_text x JOIN titles t ON t.seq = x.seq WHERE x.body @@ to_tsquery('simple', @match) AND t.status = 'published'";

    public override void SelectPublished(DbCommand command, string columns, IReadOnlyList<long> seqs)
    {
        command.CommandText = $"SELECT {columns} FROM titles t WHERE t.seq = ANY(@seqs) AND t.status = 'published';";
        command.With("@seqs", seqs.ToArray());
    }

    /// <summary>Moves the GIN indexes' pending entries (fast-update lists) into the indexes proper, and refreshes the planner's statistics.</summary>
    public override void Optimize(DbConnection connection, DbTransaction transaction)
    {
        using var clean = connection.Command(
            "SELECT gin_clean_pending_list('search_words_gin'::regclass), gin_clean_pending_list('search_text_gin'::regclass), gin_clean_pending_list('vocab_trigrams'::regclass); ANALYZE titles; ANALYZE search_words; ANALYZE search_text; ANALYZE vocab;",
            transaction);
        clean.ExecuteNonQuery();
    }

    /// <summary>
    /// The <c>words</c> column of a published title (title weight A, tags weight B) from SQL expressions
    /// holding the <see cref="Words"/> of its title and tags. The bulk import builds it from the same expression.
    /// </summary>
    internal static string WordsVector(string title, string tags) =>
        $"setweight(to_tsvector('simple', {title}), 'A') || setweight(to_tsvector('simple', {tags}), 'B')";

    /// <summary>The <c>body</c> column of a published title from SQL expressions holding the <see cref="Words"/> of its title, tags and description.</summary>
    internal static string BodyVector(string title, string tags, string description) =>
        $"to_tsvector('simple', {title} || ' ' || {tags} || ' ' || {description})";

    /// <summary>The folded words of <paramref name="text"/>, space-separated: what the <c>simple</c> configuration then indexes one by one.</summary>
    internal static string Words(string text) => string.Join(' ', TextFold.Words(text));

    private static string Quote(string word) => "'" + word.Replace("'", "''", StringComparison.Ordinal) + "'";
}
