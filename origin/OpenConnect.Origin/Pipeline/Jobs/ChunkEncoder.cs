using System.Globalization;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// What a chunk job encodes, written by the title's coordinator and read by whichever worker claims
/// it. Paths are relative to the data directory, so a worker with the same data directory mounted
/// elsewhere resolves them against its own; with <paramref name="SourceObject"/> set the source and
/// outputs go through the object store instead (<see cref="ChunkTransfer"/>) and the worker needs no
/// shared directory.
/// </summary>
/// <param name="TitleId">The title.</param>
/// <param name="Source">The title's source file, relative to the data directory.</param>
/// <param name="Chunk">The time range.</param>
/// <param name="Rungs">The rungs to encode (all of the title's, or those a run before the one-job-per-chunk layout had not).</param>
/// <param name="FrameRate">The source's frame rate, for the GOP length.</param>
/// <param name="SegmentSeconds">The segment length the keyframes sit on.</param>
/// <param name="FirstSegmentSeconds">The end of a shorter first segment for the title's first chunk; 0 for none.</param>
/// <param name="SourceObject">The source's work object key when the job goes through the object store; null (and absent in older specs) when it does not.</param>
public sealed record ChunkJobSpec(string TitleId, string Source, Chunk Chunk, IReadOnlyList<Rung> Rungs, double FrameRate, int SegmentSeconds, double FirstSegmentSeconds, string? SourceObject = null)
{
    /// <summary>The directory, relative to the data directory, one claim of the job writes its outputs to.</summary>
    public string OutputDirectory(string claimToken) =>
        Path.Combine("work", TitleId, "encodes", "jobs", string.Create(CultureInfo.InvariantCulture, $"{Chunk.Index:d5}-{claimToken}"));

    /// <summary>A rung's output file inside an output directory.</summary>
    public static string OutputFile(string outputDirectory, Rung rung) => Path.Combine(outputDirectory, rung.Name + ".mp4");
}

/// <summary>
/// Encodes one chunk job: one time range of the source at every rung of the job, in one ffmpeg
/// process: the range is decoded once and <c>split</c> to one <c>scale</c> and one encoder per rung,
/// each writing its own file. Input seeking is frame-exact when transcoding (ffmpeg decodes from the
/// keyframe before <c>-ss</c> and drops frames before it), so chunk boundaries sit exactly on segment
/// multiples whatever the source's keyframes; each output's first frame is a forced keyframe and its
/// GOPs are closed. The outputs go to a directory of the claim's own and are made durable before
/// they are renamed into place, so a worker that lost its lease never overwrites the files of the
/// worker that completed the job.
/// </summary>
public sealed class ChunkEncoder(Ffmpeg ffmpeg, PipelinePaths paths, IOptions<OriginOptions> options)
{
    /// <summary>Encodes the job from <paramref name="source"/> (a local file) into its claim's output directory; returns that directory relative to the data directory.</summary>
    public async Task<string> EncodeAsync(ChunkJobSpec spec, string source, string claimToken, int threads, Action<double>? progress, CancellationToken cancellationToken)
    {
        var pipeline = options.Value.Pipeline;
        var relative = spec.OutputDirectory(claimToken);
        var directory = Path.Combine(paths.DataDirectory, relative);
        Directory.CreateDirectory(directory);
        var outputs = spec.Rungs.Select(r => (Final: ChunkJobSpec.OutputFile(directory, r), Temp: DurableFile.TempFor(ChunkJobSpec.OutputFile(directory, r)))).ToList();
        var chunk = spec.Chunk;
        var input = string.Create(CultureInfo.InvariantCulture, $"-threads {threads} -ss {chunk.Start:0.######}");
        var ffmpegOutputs = new List<(string Output, string Arguments)>(spec.Rungs.Count);
        for (var i = 0; i < spec.Rungs.Count; i++)
        {
            var prefix = i == 0 ? $"-filter_complex_threads {threads} -filter_complex \"{EncoderArguments.SplitScaleFilter(spec.Rungs)}\" " : "";
            ffmpegOutputs.Add((outputs[i].Temp, prefix + string.Create(CultureInfo.InvariantCulture, $"-t {chunk.Duration:0.######} -map \"[v{i}]\" -an -sn -dn -fps_mode passthrough -threads {threads} {EncoderArguments.Video(spec.Rungs[i], spec.FrameRate, spec.SegmentSeconds, pipeline, firstSegmentSeconds: spec.FirstSegmentSeconds)}")));
        }

        await ffmpeg.RunAsync(source, MediaInputFormat.ForSourceFile(source), input, ffmpegOutputs, paths.Work(spec.TitleId), TimeSpan.FromSeconds(chunk.Duration), progress, cancellationToken);
        foreach (var (_, temp) in outputs)
        {
            DurableFile.Flush(temp);
        }

        foreach (var (final, temp) in outputs)
        {
            File.Move(temp, final, overwrite: true);
        }

        return relative;
    }

    /// <summary>Deletes a claim's output directory (its job was lost or failed); missing is fine.</summary>
    public void Discard(string relativeDirectory)
    {
        var directory = Path.Combine(paths.DataDirectory, relativeDirectory);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
