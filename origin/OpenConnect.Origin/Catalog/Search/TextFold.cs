using System.Text;

namespace OpenConnect.Origin.Catalog.Search;

/// <summary>
/// Folds text for matching the way the FTS5 <c>unicode61</c> tokenizer with <c>remove_diacritics</c>
/// sees it: lower case, Latin letters without their accents (Ångström → angstrom). Used for query
/// words and for the spelling vocabulary. The process runs with invariant globalization, so the
/// Latin-1 and Latin Extended-A accents are mapped by table.
/// </summary>
public static class TextFold
{
    // Base letters for U+00C0..U+017F; '\0' keeps the character as it is.
    private const string Latin1 =
        "aaaaaa\0ceeeeiiiidnooooo\0ouuuuy\0\0" // U+00C0..U+00DF
        + "aaaaaa\0ceeeeiiiidnooooo\0ouuuuy\0y"; // U+00E0..U+00FF

    private const string ExtendedA =
        "aaaaaa" + "cccccccc" + "dddd" + "eeeeeeeeee" + "gggggggg" + "hhhh" + "iiiiiiiiii" + "ii" + "jj" + "kkk"
        + "llllllllll" + "nnnnnnnnn" + "oooooo" + "oo" + "rrrrrr" + "ssssssss" + "tttttt" + "uuuuuuuuuuuu" + "ww" + "yyy"
        + "zzzzzz" + "s"; // U+0100..U+017F

    public static string Fold(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(FoldChar(c));
        }

        return builder.ToString();
    }

    public static char FoldChar(char c)
    {
        if (c < 0x80)
        {
            return c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;
        }

        if (c is >= '\u00C0' and <= '\u00FF')
        {
            var mapped = Latin1[c - 0xC0];
            return mapped == '\0' ? char.ToLowerInvariant(c) : mapped;
        }

        if (c is >= '\u0100' and <= '\u017F')
        {
            return ExtendedA[c - 0x100];
        }

        return char.ToLowerInvariant(c);
    }

    /// <summary>The folded words (letters and digits) of <paramref name="text"/>, in order.</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var builder = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(FoldChar(c));
            }
            else if (builder.Length > 0)
            {
                words.Add(builder.ToString());
                builder.Clear();
            }
        }

        if (builder.Length > 0)
        {
            words.Add(builder.ToString());
        }

        return words;
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var value = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    value = Math.Min(value, d[i - 2, j - 2] + 1);
                }

                d[i, j] = value;
            }
        }

        return d[a.Length, b.Length];
    }
}
