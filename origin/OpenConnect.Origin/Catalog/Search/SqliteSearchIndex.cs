using System.Data.Common;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// Search on SQLite: contentless FTS5 tables <c>titles_words</c> (title and tags, BM25 10 × 4) and
/// <c>titles_text</c> (title, tags and description in one column), word-tokenized with diacritics
/// removed and prefix indexes for 2-4 letters, keyed by the title's <c>seq</c>; the spelling
/// vocabulary has a trigram FTS5 table, <c>vocab_fts</c>.
/// </summary>
internal sealed class SqliteSearchIndex : SearchIndex
{
    public static readonly SqliteSearchIndex Instance = new();

    private SqliteSearchIndex()
    {
    }

    public override void Index(DbConnection connection, DbTransaction transaction, long seq, bool published, string title, string tags, string description)
    {
        using (var delete = connection.Command("DELETE FROM titles_words WHERE rowid = @seq; DELETE FROM titles_text WHERE rowid = @seq;", transaction).With("@seq", seq))
        {
            delete.ExecuteNonQuery();
        }

        if (!published)
        {
            return;
        }

        using var insert = connection.Command(
            "INSERT INTO titles_words (rowid, title, tags) VALUES (@seq, @title, @tags); INSERT INTO titles_text (rowid, body) VALUES (@seq, @title || ' ' || @tags || ' ' || @description);", transaction);
        insert.With("@seq", seq).With("@title", title).With("@tags", tags).With("@description", description).ExecuteNonQuery();
    }

    public override void AddedToVocabulary(DbConnection connection, DbTransaction transaction, long id, string word)
    {
        using var index = connection.Command("INSERT INTO vocab_fts (rowid, word) VALUES (@id, @w);", transaction).With("@id", id).With("@w", word);
        index.ExecuteNonQuery();
    }

    public override List<string> CorrectionCandidates(DbConnection connection, string word, int limit)
    {
        var trigrams = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i + 3 <= word.Length; i++)
        {
            trigrams.Add(word.Substring(i, 3));
        }

        if (trigrams.Count == 0)
        {
            return [];
        }

        using var command = connection.Command("SELECT word FROM vocab_fts WHERE vocab_fts MATCH @q ORDER BY rank LIMIT @n;")
            .With("@q", string.Join(" OR ", trigrams.Select(Quote))).With("@n", limit);
        var words = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            words.Add(reader.GetString(0));
        }

        return words;
    }

    public override string Match(IReadOnlyList<SearchTerm> terms) => string.Join(" AND ", terms.Select(term =>
        term.Words.Count == 1
            ? Quote(term.Words[0]) + (term.Prefix ? "*" : "")
            : "(" + string.Join(" OR ", term.Words.Select(Quote)) + ")"));

    public override IReadOnlyList<string> Candidates(bool titleAndTags, bool ranked, string filters)
    {
        // FTS5 reads a term's doclist in rowid order: the newest matches come first, whatever their number.
        var table = titleAndTags ? "titles_words" : "titles_text";
        return
        [
            $"SELECT {table}.rowid, {(ranked ? table + ".rank" : "0.0")} FROM {table}"
                + (filters.Length > 0 ? $" JOIN titles t ON t.seq = {table}.rowid" : "")
                + $" WHERE {table} MATCH @match{filters} ORDER BY {table}.rowid DESC LIMIT @count;",
        ];
    }

    public override string PublishedMatches => " FROM titles_text JOIN titles t ON t.seq = titles_text.rowid WHERE titles_text MATCH @match AND t.status = 'published'";

    public override void SelectPublished(DbCommand command, string columns, IReadOnlyList<long> seqs)
    {
        // "+t.status": a lookup by primary key per row, never a walk of the status index.
        command.CommandText = $"SELECT {columns} FROM titles t WHERE t.seq IN (SELECT value FROM json_each(@seqs)) AND +t.status = 'published';";
        command.With("@seqs", "[" + string.Join(',', seqs) + "]");
    }

    /// <summary>
    /// Merges each FTS5 index (titles' words, titles' text, the spelling vocabulary) into one segment:
    /// FTS5 adds a segment per write transaction, and a query reads one doclist per term and segment.
    /// </summary>
    public override void Optimize(DbConnection connection, DbTransaction transaction)
    {
        foreach (var table in (string[])["titles_words", "titles_text", "vocab_fts"])
        {
            using var optimize = connection.Command($"INSERT INTO {table} ({table}) VALUES ('optimize');", transaction);
            optimize.ExecuteNonQuery();
        }
    }

    private static string Quote(string word) => "\"" + word.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
