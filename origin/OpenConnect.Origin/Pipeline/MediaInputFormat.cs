namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// How ffmpeg may open an input: the demuxer forced with <c>-f</c> and the demuxers allowed at all
/// (<c>-format_whitelist</c>, also inherited by any file a demuxer opens inside it, as the concat
/// demuxer does). Only the <c>file</c> protocol is ever allowed, so a playlist, a concat list or a
/// reference inside a file cannot make the tool open a URL, and no format is auto-detected: an HLS
/// playlist or ffconcat list named <c>.mp4</c> is refused before it is parsed.
/// </summary>
public sealed record MediaInputFormat(string? Demuxer, string Whitelist)
{
    /// <summary>What ffprobe may recognise in an upload: MP4/MOV (<c>mov</c>) or Matroska/WebM (<c>matroska</c>).</summary>
    public static readonly MediaInputFormat AnyUpload = new(null, "mov,matroska");

    /// <summary>An MP4 or MOV source.</summary>
    public static readonly MediaInputFormat Mov = new("mov", "mov");

    /// <summary>A Matroska or WebM source.</summary>
    public static readonly MediaInputFormat Matroska = new("matroska", "matroska");

    /// <summary>The pipeline's own ffconcat list of its own MP4 chunk encodes.</summary>
    public static readonly MediaInputFormat ChunkList = new("concat", "concat,mov");

    /// <summary>An intermediate MP4 the pipeline wrote itself (rung or audio file).</summary>
    public static readonly MediaInputFormat Intermediate = Mov;

    /// <summary>The demuxer of a probed source by its container (<see cref="SourceInfo.Container"/>: mp4, mov or mkv).</summary>
    public static MediaInputFormat ForContainer(string container) => container switch
    {
        "mp4" or "mov" => Mov,
        "mkv" => Matroska,
        _ => throw new ArgumentOutOfRangeException(nameof(container), container, "not a container the probe accepts"),
    };

    /// <summary>The demuxer of a source file the intake named after its probed container (<c>source.mkv</c>, …).</summary>
    public static MediaInputFormat ForSourceFile(string path) => ForContainer(Path.GetExtension(path).TrimStart('.'));

    /// <summary>The options that go before <c>-i</c>.</summary>
    public string Arguments => Demuxer is null
        ? $"-protocol_whitelist file -format_whitelist {Whitelist}"
        : $"-protocol_whitelist file -format_whitelist {Whitelist} -f {Demuxer}";

    /// <summary>The input as ffmpeg should be given it: a <c>file:</c> URL, so that no part of the path can be read as another protocol.</summary>
    public static string InputUrl(string path) => "file:" + Path.GetFullPath(path);
}
