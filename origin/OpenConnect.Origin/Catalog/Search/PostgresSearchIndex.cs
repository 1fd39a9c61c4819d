using System.Data.Common;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// Search on PostgreSQL: two <c>tsvector</c> columns of <c>titles</c> with GIN indexes, built with the
/// <c>simple</c> configuration from the words <see cref="TextFold"/> makes (so both engines split and
/// fold text alike): <c>words</c>, the title (weight A) and tags (weight B), ranked by <c>ts_rank</c>
/// (A 1.0 × B 0.4, the SQLite 10 × 4); <c>body</c>, title, tags and description. Both are NULL unless
/// the title is published. Spelling corrections come from a <c>pg_trgm</c> GIN index on <c>vocab.word</c>.
/// </summary>
internal sealed class PostgresSearchIndex : SearchIndex
{
    public static readonly PostgresSearchIndex Instance = new();

    private PostgresSearchIndex()
    {
    }

    public override void Index(DbConnection connection, DbTransaction transaction, long seq, bool published, string title, string tags, string description)
    {
        using var update = connection.Command(
            $"""
            UPDATE titles SET
                words = CASE WHEN @published THEN {WordsVector("@title", "@tags")} END,
                body = CASE WHEN @published THEN {BodyVector("@title", "@tags", "@description")} END
            WHERE seq = @seq;
            """, transaction);
        update.With("@published", published).With("@title", Words(title)).With("@tags", Words(tags)).With("@description", Words(description)).With("@seq", seq)
            .ExecuteNonQuery();
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

    public override string Candidates(bool titleAndTags, bool ranked, bool filtered) =>
        $"SELECT t.seq, {(ranked ? "-ts_rank(t.words, q.q)::float8" : "0::float8")} FROM titles t, to_tsquery('simple', @match) q(q) WHERE t.{(titleAndTags ? "words" : "body")} @@ q.q";

    public override string CandidatesNewestFirst(bool titleAndTags) => "t.seq DESC";

    public override string PublishedMatches => " FROM titles t WHERE t.body @@ to_tsquery('simple', @match) AND t.status = 'published'";

    public override void SelectPublished(DbCommand command, string columns, IReadOnlyList<long> seqs)
    {
        command.CommandText = $"SELECT {columns} FROM titles t WHERE t.seq = ANY(@seqs) AND t.status = 'published';";
        command.With("@seqs", seqs.ToArray());
    }

    /// <summary>Moves the GIN indexes' pending entries (fast-update lists) into the indexes proper, and refreshes the planner's statistics.</summary>
    public override void Optimize(DbConnection connection, DbTransaction transaction)
    {
        using var clean = connection.Command(
            "SELECT gin_clean_pending_list('titles_words'::regclass), gin_clean_pending_list('titles_body'::regclass), gin_clean_pending_list('vocab_trigrams'::regclass); ANALYZE titles; ANALYZE vocab;",
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
