using System.Text.Json;
using OpenConnect.Origin.Pipeline.PerTitle;

namespace OpenConnect.Origin.Pipeline;

/// <summary>The rungs of a title: the fixed ladder, or one measured for the title (<see cref="PipelineOptions.Ladder"/>).</summary>
public sealed partial class TitleProcessor
{
    private async Task<IReadOnlyList<Rung>> ChooseRungsAsync(string titleId, string sourceFile, SourceInfo source, CancellationToken cancellationToken)
    {
        var heights = Ladder.CandidateHeights(source.Width, source.Height, _options);
        if (!_options.IsPerTitle || source.DurationSeconds < _options.PerTitleMinSourceSeconds || heights.Count < 2 || !Ladder.Heights.Contains(heights[0]))
        {
            // One rung (or a source below the smallest ladder height) leaves nothing to choose, and a
            // short source is not worth the analysis.
            return Ladder.For(source.Width, source.Height, _options);
        }

        var directory = Path.Combine(_paths.Work(titleId), "analysis");
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        var analyzer = new ComplexityAnalyzer(_ffmpeg, _options);
        var analysis = await analyzer.AnalyzeAsync(sourceFile, source, heights, directory, cancellationToken);
        var fixedRungs = heights.Select(h => new FixedRung(h, _options.BitrateKbpsFor(h))).ToList();
        var sourceKbps = new FileInfo(sourceFile).Length * 8 / 1000.0 / source.DurationSeconds;
        var rules = new PerTitleRules(RateMargin: _options.PerTitleRateMargin);
        var chosen = PerTitleLadder.Choose(analysis.Curves(), fixedRungs, sourceKbps, rules);
        var calibration = await new RungCalibrator(_ffmpeg, _options, analyzer).CalibrateAsync(sourceFile, source, analysis, chosen, fixedRungs, sourceKbps, rules, directory, cancellationToken);
        var planned = calibration.Rungs;
        Directory.Delete(directory, recursive: true);
        DurableFile.WriteAllText(Path.Combine(_paths.Work(titleId), "ladder.json"), JsonSerializer.Serialize(new { analysis, chosen, calibration }));
        Log.PerTitleLadder(_logger, titleId, string.Join(", ", planned.Select(p => $"{p.Height}p@{p.Kbps}k")), analysis.Points.Count, analysis.WallSeconds + calibration.WallSeconds);
        return Ladder.FromPlan(source.Width, source.Height, _options, planned);
    }
}
