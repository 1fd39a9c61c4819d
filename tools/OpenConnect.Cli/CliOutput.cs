using System.Text;
using System.Text.Json;

namespace OpenConnect.Cli;

/// <summary>
/// What a command prints: <see cref="Data"/> as JSON with <c>--json</c>, otherwise <see cref="Text"/>;
/// and its exit code (not 0 when part of it failed, e.g. one steering replica of several).
/// </summary>
public sealed record CliResult(object Data, string Text, int ExitCode = ExitCodes.Ok);

/// <summary>Where the CLI writes: results to <see cref="Output"/>, one-line failures to <see cref="Error"/>.</summary>
public sealed class CliOutput(TextWriter output, TextWriter error)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Runs <paramref name="command"/>, prints its result (JSON or text) and returns the exit code; a <see cref="CliFailure"/> prints one line on stderr.</summary>
    public async Task<int> RunAsync(bool json, Func<Task<CliResult>> command)
    {
        try
        {
            var result = await command().ConfigureAwait(false);
            await Output.WriteLineAsync(json ? JsonSerializer.Serialize(result.Data, JsonOptions) : result.Text).ConfigureAwait(false);
            return result.ExitCode;
        }
        catch (CliFailure failure)
        {
            await Error.WriteLineAsync($"openconnect: {failure.Message}").ConfigureAwait(false);
            return failure.ExitCode;
        }
    }

    /// <summary>A plain text table: a header row and rows, columns padded to their widest cell.</summary>
    public static string Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = new int[header.Count];
        for (var i = 0; i < header.Count; i++)
        {
            widths[i] = Math.Max(header[i].Length, rows.Count == 0 ? 0 : rows.Max(row => row[i].Length));
        }

        var text = new StringBuilder();
        AppendRow(text, header, widths);
        foreach (var row in rows)
        {
            AppendRow(text, row, widths);
        }

        return text.ToString().TrimEnd('\n');
    }

    /// <summary>A property of a JSON object as table text: "-" when absent or null.</summary>
    public static string Text(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : "-";

    private static void AppendRow(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            text.Append(i == cells.Count - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        text.Append('\n');
    }
}
