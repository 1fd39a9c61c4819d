using System.Text;

namespace OpenConnect.Steering.Play;

/// <summary>
/// An HLS attribute list (<c>KEY=value,KEY="quoted, value"</c>), kept in order with raw values so
/// rewriting one attribute leaves the others byte for byte.
/// </summary>
public sealed class HlsAttributeList
{
    private readonly List<KeyValuePair<string, string>> _items = [];

    public static HlsAttributeList Parse(string text)
    {
        var list = new HlsAttributeList();
        var i = 0;
        while (i < text.Length)
        {
            var eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var key = text[i..eq].Trim();
            var j = eq + 1;
            if (j < text.Length && text[j] == '"')
            {
                var close = text.IndexOf('"', j + 1);
                j = close < 0 ? text.Length : close + 1;
            }

            var comma = text.IndexOf(',', j);
            var end = comma < 0 ? text.Length : comma;
            list._items.Add(new(key, text[(eq + 1)..end]));
            i = end + 1;
        }

        return list;
    }

    /// <summary>The value without quotes, or null.</summary>
    public string? Get(string key)
    {
        foreach (var (k, v) in _items)
        {
            if (k == key)
            {
                return v.Length >= 2 && v[0] == '"' && v[^1] == '"' ? v[1..^1] : v;
            }
        }

        return null;
    }

    public void SetQuoted(string key, string value) => SetRaw(key, "\"" + value + "\"");

    public void SetRaw(string key, string raw)
    {
        for (var i = 0; i < _items.Count; i++)
        {
            if (_items[i].Key == key)
            {
                _items[i] = new(key, raw);
                return;
            }
        }

        _items.Add(new(key, raw));
    }

    public HlsAttributeList Clone()
    {
        var copy = new HlsAttributeList();
        copy._items.AddRange(_items);
        return copy;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in _items)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(k).Append('=').Append(v);
        }

        return sb.ToString();
    }
}
