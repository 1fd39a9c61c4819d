using OpenConnect.Hosting;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Limits on the ffmpeg/ffprobe runs over uploaded bytes (section <c>Origin:Pipeline:Sandbox</c>),
/// enforced by <see cref="MediaToolSandbox"/>. The CPU and output-size limits of a run grow with
/// the length of media it covers (a 12 s chunk and a whole-title thumbnail pass differ by orders
/// of magnitude); memory is one address-space cap per process.
/// </summary>
public sealed class MediaSandboxOptions
{
    /// <summary>
    /// Refuse to start when the tools cannot be run in a network namespace of their own (<c>unshare --net</c>).
    /// Default false: without it a warning is logged once and the protocol/format whitelists alone keep the tools off the network.
    /// </summary>
    public bool RequireNetworkIsolation { get; set; }

    /// <summary>Wall-clock limit of each ffprobe run and of the probe's decode check. Default 60 s.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>CPU seconds (all threads) each ffprobe run and the probe's decode check may use. Default 60.</summary>
    public int ProbeCpuSeconds { get; set; } = 60;

    /// <summary>CPU seconds every other run may use on top of <see cref="CpuSecondsPerMediaSecond"/>. Default 600.</summary>
    public int MinCpuSeconds { get; set; } = 600;

    /// <summary>
    /// CPU seconds per second of media a run covers. Default 120: a 4K source's eight-rung H.264 chunk
    /// measured about 8 CPU-s per media second at <c>veryfast</c>; the rest is headroom for HEVC,
    /// VP9 and AV1 rungs in the same process and slower machines.
    /// </summary>
    public int CpuSecondsPerMediaSecond { get; set; } = 120;

    /// <summary>
    /// Address space (RLIMIT_AS, virtual memory, not resident) per tool process, in MiB. Default 16384.
    /// A 4K source's eight-rung H.264 chunk peaked at 1.7 GiB of address space (1.2 GiB resident)
    /// with one thread and 3.4 GiB (1.9 GiB resident) with four; each further thread adds about 0.6 GiB.
    /// </summary>
    public int MemoryLimitMegabytes { get; set; } = 16384;

    /// <summary>Largest file a run may write (RLIMIT_FSIZE), in MiB, on top of <see cref="OutputMegabytesPerMediaSecond"/>. Default 1024.</summary>
    public int MinOutputMegabytes { get; set; } = 1024;

    /// <summary>File-size allowance per second of media a run covers, in MiB. Default 20 (160 Mbit/s, well above any rung's VBV cap).</summary>
    public int OutputMegabytesPerMediaSecond { get; set; } = 20;

    /// <summary>Widest or tallest coded frame a source may have, in pixels. Default 8192 (8K DCI).</summary>
    public int MaxSourceDimension { get; set; } = 8192;

    /// <summary>Longest source accepted. Default 12 h.</summary>
    public TimeSpan MaxSourceDuration { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The address-space limit in bytes.</summary>
    public long MemoryLimitBytes => MemoryLimitMegabytes * 1024L * 1024;

    /// <summary>The limits of a probe run.</summary>
    public MediaToolLimits ProbeLimits => new(ProbeTimeout, ProbeCpuSeconds, MemoryLimitBytes, MinOutputMegabytes * 1024L * 1024);

    /// <summary>The limits of a run over <paramref name="mediaDuration"/> of media (none known: the minimums).</summary>
    public MediaToolLimits RunLimits(TimeSpan wallClock, TimeSpan? mediaDuration)
    {
        var seconds = Math.Max(0, mediaDuration?.TotalSeconds ?? 0);
        var cpu = (int)Math.Min(int.MaxValue, MinCpuSeconds + Math.Ceiling(seconds * CpuSecondsPerMediaSecond));
        var output = (long)Math.Min(long.MaxValue / 2, (MinOutputMegabytes + Math.Ceiling(seconds * OutputMegabytesPerMediaSecond)) * 1024 * 1024);
        return new MediaToolLimits(wallClock, cpu, MemoryLimitBytes, output);
    }

    public void Validate(OptionsCheck check)
    {
        check.Require(ProbeTimeout >= TimeSpan.FromSeconds(1) && ProbeTimeout <= TimeSpan.FromHours(1), "Pipeline:Sandbox:ProbeTimeout", ProbeTimeout, "must be between 00:00:01 and 01:00:00");
        check.Require(ProbeCpuSeconds is >= 1 and <= 3600, "Pipeline:Sandbox:ProbeCpuSeconds", ProbeCpuSeconds, "must be between 1 and 3600");
        check.Require(MinCpuSeconds is >= 1 and <= 1_000_000, "Pipeline:Sandbox:MinCpuSeconds", MinCpuSeconds, "must be between 1 and 1000000");
        check.Require(CpuSecondsPerMediaSecond is >= 0 and <= 100_000, "Pipeline:Sandbox:CpuSecondsPerMediaSecond", CpuSecondsPerMediaSecond, "must be between 0 and 100000");
        check.Require(MemoryLimitMegabytes is >= 256 and <= 1_048_576, "Pipeline:Sandbox:MemoryLimitMegabytes", MemoryLimitMegabytes, "must be between 256 and 1048576 MiB");
        check.Require(MinOutputMegabytes is >= 1 and <= 1_048_576, "Pipeline:Sandbox:MinOutputMegabytes", MinOutputMegabytes, "must be between 1 and 1048576 MiB");
        check.Require(OutputMegabytesPerMediaSecond is >= 0 and <= 10_000, "Pipeline:Sandbox:OutputMegabytesPerMediaSecond", OutputMegabytesPerMediaSecond, "must be between 0 and 10000 MiB");
        check.Require(MaxSourceDimension is >= 144 and <= 65_536, "Pipeline:Sandbox:MaxSourceDimension", MaxSourceDimension, "must be between 144 and 65536 pixels");
        check.Require(MaxSourceDuration >= TimeSpan.FromSeconds(1), "Pipeline:Sandbox:MaxSourceDuration", MaxSourceDuration, "must be at least 00:00:01");
    }
}
