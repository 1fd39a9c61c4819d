using System.Data.Common;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>One term of a search: a folded word, a prefix (one word), or any of a few words (completions or corrections).</summary>
internal sealed record SearchTerm(IReadOnlyList<string> Words, bool Prefix);

/// <summary>
/// The engine-specific half of search: how a title's text is indexed, how terms become a match
/// expression, and how the index is queried. <see cref="TitleSearch"/> holds the algorithm (terms,
/// ranking windows, filters, pages) once; SQLite uses FTS5 (<see cref="SqliteSearchIndex"/>),
/// PostgreSQL <c>tsvector</c> with GIN and <c>pg_trgm</c> (<see cref="PostgresSearchIndex"/>).
/// Both index the words of the title and tags (ranked, title 10 × tags 4) and, separately, of title,
/// tags and description together.
/// </summary>
internal abstract class SearchIndex
{
    /// <summary>Replaces the text index rows of one title: none unless it is published.</summary>
    public abstract void Index(DbConnection connection, DbTransaction transaction, long seq, bool published, string title, string tags, string description);

    /// <summary>Called for each word newly added to <c>vocab</c> (row <paramref name="id"/>), for an index of the engine's own.</summary>
    public abstract void AddedToVocabulary(DbConnection connection, DbTransaction transaction, long id, string word);

    /// <summary>Up to <paramref name="limit"/> vocabulary words sharing trigrams with <paramref name="word"/>, most alike first.</summary>
    public abstract List<string> CorrectionCandidates(DbConnection connection, string word, int limit);

    /// <summary>The match expression (parameter <c>@match</c>) for all of <paramref name="terms"/>.</summary>
    public abstract string Match(IReadOnlyList<SearchTerm> terms);

    /// <summary>
    /// The statements that read the titles matching <c>@match</c> in the title-and-tags index
    /// (<paramref name="titleAndTags"/>) or the full-text one, newest first, as <c>(seq, rank)</c> rows
    /// with rank lower-is-better (0 when not <paramref name="ranked"/>). Each returns up to <c>@count</c>
    /// rows, all older than those of the statements before it: run them in turn until enough are found.
    /// <paramref name="filters"/> are conditions on <c>titles t</c> (<c>" AND …"</c>, or empty).
    /// </summary>
    public abstract IReadOnlyList<string> Candidates(bool titleAndTags, bool ranked, string filters);

    /// <summary><c>FROM … WHERE</c>: published titles <c>t</c> whose full text matches <c>@match</c>; conditions on <c>t</c> may follow.</summary>
    public abstract string PublishedMatches { get; }

    /// <summary>Makes <paramref name="command"/> read <paramref name="columns"/> of the published titles among <paramref name="seqs"/>.</summary>
    public abstract void SelectPublished(DbCommand command, string columns, IReadOnlyList<long> seqs);

    /// <summary>Compacts the indexes (every <see cref="CatalogOptions.SearchOptimizeInterval"/>); answers stay as they were.</summary>
    public abstract void Optimize(DbConnection connection, DbTransaction transaction);
}
