using System.Data.Common;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// The folded words of published titles, tags and descriptions (three letters or more): exact and
/// prefix lookups on the word's B-tree, and a trigram index (the engine's: see <see cref="SearchIndex"/>) for typo tolerance: a query word that
/// neither is nor begins an indexed word is replaced by the indexed words that share its trigrams
/// and lie within a small edit distance ("stawberry" → "strawberry").
/// </summary>
internal static class SpellingVocabulary
{
    public const int MinWordLength = 3;
    public const int MaxWordLength = 40;
    private const int CandidateLimit = 40;
    private const int MaxCorrections = 3;

    public static void Add(DbConnection connection, DbTransaction transaction, SearchIndex index, IEnumerable<string> words)
    {
        using var insert = connection.Command("INSERT INTO vocab (word) VALUES (@w) ON CONFLICT (word) DO NOTHING RETURNING id;", transaction);
        var word = insert.Parameter("@w");
        foreach (var w in words)
        {
            if (!Admits(w))
            {
                continue;
            }

            word.Value = w;
            if (insert.ExecuteScalar() is long id)
            {
                index.AddedToVocabulary(connection, transaction, id, w);
            }
        }
    }

    /// <summary>True when the folded word <paramref name="word"/> belongs in the vocabulary (by its length).</summary>
    public static bool Admits(string word) => word.Length is >= MinWordLength and <= MaxWordLength;

    /// <summary>True when <paramref name="word"/> is a word of some title (the B-tree on <c>vocab.word</c>).</summary>
    public static bool Contains(DbConnection connection, string word)
    {
        using var command = connection.Command("SELECT 1 FROM vocab WHERE word = @w;").With("@w", word);
        return command.ExecuteScalar() is not null;
    }

    /// <summary>Up to <paramref name="limit"/> indexed words that begin with <paramref name="prefix"/> (itself included), in order.</summary>
    public static List<string> Completions(DbConnection connection, string prefix, int limit)
    {
        // Every word starting with the prefix sorts between it and the prefix followed by the highest code point.
        using var command = connection.Command("SELECT word FROM vocab WHERE word >= @from AND word < @to ORDER BY word LIMIT @n;")
            .With("@from", prefix).With("@to", prefix + char.ConvertFromUtf32(0x10FFFF)).With("@n", limit);
        var words = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            words.Add(reader.GetString(0));
        }

        return words;
    }

    /// <summary>Up to three indexed words closest to <paramref name="word"/> within its edit budget, best first.</summary>
    public static List<string> Corrections(DbConnection connection, SearchIndex index, string word)
    {
        var budget = word.Length <= 4 ? 1 : word.Length <= 8 ? 2 : 3;
        var scored = new List<(string Word, int Distance)>();
        foreach (var candidate in index.CorrectionCandidates(connection, word, CandidateLimit))
        {
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
}
