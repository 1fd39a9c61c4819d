using System.Text.Json;
using OpenConnect.Origin.Pipeline.PerTitle;

namespace OpenConnect.Origin.Pipeline;

/// <summary>The rungs of a title: the fixed ladder, or one measured for the title (<see cref="PipelineOptions.Ladder"/>).</summary>
public sealed partial class TitleProcessor
{
    private async Task<IReadOnlyList<Rung>> ChooseRungsAsync(string titleId, string sourceFile, SourceInfo source, CancellationToken cancellationToken)
    {
        var heights = Ladder.CandidateHeights(source.Width, source.Height, _options);
        if (!_options.IsPerTitle || heights.Count < 2 || !Ladder.Heights.Contains(heights[0]))
        {
            // One rung (or a source below the smallest ladder height) leaves nothing to choose.
            return Ladder.For(source.Width, source.Height, _options);
        }

        var directory = Path.Combine(_paths.Work(titleId), "analysis");
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        var analysis = await new ComplexityAnalyzer(_ffmpeg, _options).AnalyzeAsync(sourceFile, source, heights, directory, cancellationToken);
        var fixedRungs = heights.Select(h => new FixedRung(h, _options.BitrateKbpsFor(h))).ToList();
        var sourceKbps = new FileInfo(sourceFile).Length * 8 / 1000.0 / source.DurationSeconds;
        var planned = PerTitleLadder.Choose(analysis.Curves(), fixedRungs, sourceKbps, new PerTitleRules(RateMargin: _options.PerTitleRateMargin));
        Directory.Delete(directory, recursive: true);
        DurableFile.WriteAllText(Path.Combine(_paths.Work(titleId), "ladder.json"), JsonSerializer.Serialize(new { analysis, planned }));
        Log.PerTitleLadder(_logger, titleId, string.Join(", ", planned.Select(p => $"{p.Height}p@{p.Kbps}k")), analysis.Points.Count, analysis.WallSeconds);
        return Ladder.FromPlan(source.Width, source.Height, _options, planned);
    }
}
