using Microsoft.Data.Sqlite;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// The folded words of published titles, tags and descriptions (three letters or more): exact and
/// prefix lookups on the word's B-tree, and a trigram index for typo tolerance: a query word that
/// neither is nor begins an indexed word is replaced by the indexed words that share its trigrams
/// and lie within a small edit distance ("stawberry" → "strawberry").
/// </summary>
internal static class SpellingVocabulary
{
    public const int MinWordLength = 3;
    public const int MaxWordLength = 40;
    private const int CandidateLimit = 40;
    private const int MaxCorrections = 3;

    public static void Add(SqliteConnection connection, SqliteTransaction transaction, IEnumerable<string> words)
    {
        using var insert = connection.Command("INSERT INTO vocab (word) VALUES ($w) ON CONFLICT (word) DO NOTHING RETURNING id;", transaction);
        var word = insert.Parameters.Add("$w", SqliteType.Text);
        using var index = connection.Command("INSERT INTO vocab_fts (rowid, word) VALUES ($id, $w);", transaction);
        var indexId = index.Parameters.Add("$id", SqliteType.Integer);
        var indexWord = index.Parameters.Add("$w", SqliteType.Text);
        foreach (var w in words)
        {
            if (w.Length is < MinWordLength or > MaxWordLength)
            {
                continue;
            }

            word.Value = w;
            if (insert.ExecuteScalar() is long id)
            {
                indexId.Value = id;
                indexWord.Value = w;
                index.ExecuteNonQuery();
            }
        }
    }

    /// <summary>True when <paramref name="word"/> is a word of some title (the B-tree on <c>vocab.word</c>).</summary>
    public static bool Contains(SqliteConnection connection, string word)
    {
        using var command = connection.Command("SELECT 1 FROM vocab WHERE word = $w;").With("$w", word);
        return command.ExecuteScalar() is not null;
    }

    /// <summary>Up to <paramref name="limit"/> indexed words that begin with <paramref name="prefix"/> (itself included), in order.</summary>
    public static List<string> Completions(SqliteConnection connection, string prefix, int limit)
    {
        // Every word starting with the prefix sorts between it and the prefix followed by the highest code point.
        using var command = connection.Command("SELECT word FROM vocab WHERE word >= $from AND word < $to ORDER BY word LIMIT $n;")
            .With("$from", prefix).With("$to", prefix + char.ConvertFromUtf32(0x10FFFF)).With("$n", limit);
        var words = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            words.Add(reader.GetString(0));
        }

        return words;
    }

    /// <summary>Up to three indexed words closest to <paramref name="word"/> within its edit budget, best first.</summary>
    public static List<string> Corrections(SqliteConnection connection, string word)
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

        var budget = word.Length <= 4 ? 1 : word.Length <= 8 ? 2 : 3;
        using var command = connection.Command("SELECT word FROM vocab_fts WHERE vocab_fts MATCH $q ORDER BY rank LIMIT $n;")
            .With("$q", string.Join(" OR ", trigrams.Select(Quote)))
            .With("$n", CandidateLimit);
        var scored = new List<(string Word, int Distance)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var candidate = reader.GetString(0);
            var distance = TextFold.EditDistance(word, candidate);
            if (candidate.Length > word.Length)
            {
                // A misspelled prefix ("strawbe" typed as "stawbe") matches the start of the word.
                distance = Math.Min(distance, TextFold.EditDistance(word, candidate[..word.Length]) + 1);
            }

            if (distance <= budget)
            {
                scored.Add((candidate, distance));
            }
        }

        if (scored.Count == 0)
        {
            return [];
        }

        var best = scored.Min(s => s.Distance);
        return [.. scored.Where(s => s.Distance == best).Select(s => s.Word).Take(MaxCorrections)];
    }

    public static string Quote(string word) => "\"" + word.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
