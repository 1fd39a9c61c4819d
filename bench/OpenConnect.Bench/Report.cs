using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OpenConnect.Bench;

/// <summary>A human-readable table, printed with aligned columns.</summary>
public sealed class Table
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    public Table(params string[] headers) => _headers = headers;

    public void Add(params object[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"row has {cells.Length} cells, table has {_headers.Length} columns");
        }

        _rows.Add([.. cells.Select(Format)]);
    }

    public override string ToString()
    {
        var widths = _headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        AppendRow(sb, _headers, widths);
        sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in _rows)
        {
            AppendRow(sb, row, widths);
        }

        return sb.ToString();
    }

    private static void AppendRow(StringBuilder sb, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                sb.Append("  ");
            }

            sb.Append(i == 0 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i]));
        }

        sb.AppendLine();
    }

    private static string Format(object cell) => cell switch
    {
        double d => d.ToString(Math.Abs(d) >= 100 ? "F1" : "F4", CultureInfo.InvariantCulture),
        float f => ((double)f).ToString("F4", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };
}

public static class Summary
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    /// <summary>Writes the scenario's figures as one JSON object on one line: the last line of the output.</summary>
    public static void WriteJsonLine(object figures) => Console.Out.WriteLine(JsonSerializer.Serialize(figures, Options));
}
