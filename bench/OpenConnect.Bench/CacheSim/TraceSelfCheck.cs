namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// A quick check run before every simulation: the generator is deterministic for a seed, and both trace
/// formats round-trip a generated trace exactly. Catches a broken reader before it skews a result.
/// </summary>
internal static class TraceSelfCheck
{
    /// <summary>Returns null when everything holds, else what failed.</summary>
    public static string? Run()
    {
        var w = new VodWorkload { Seed = 7, Requests = 20_000, Titles = 200, SessionsPerDay = 300, NewTitlesPerDay = 5 };
        var a = VodTraceGenerator.Generate(w, "check");
        var b = VodTraceGenerator.Generate(w, "check");
        if (!Same(a, b))
        {
            return "the generator gave two different traces for one seed";
        }

        var dir = Directory.CreateTempSubdirectory("cache-sim-check-");
        try
        {
            var text = Path.Combine(dir.FullName, "trace.txt");
            var oracle = Path.Combine(dir.FullName, "trace.oracleGeneral.bin");
            TraceFiles.WriteText(a, text);
            TraceFiles.WriteOracleGeneral(a, oracle);
            if (new FileInfo(oracle).Length != (long)a.Count * TraceFiles.OracleRecordBytes)
            {
                return "oracleGeneral file has the wrong length";
            }

            if (!Same(a, TraceFiles.ReadText(text, int.MaxValue)))
            {
                return "text trace did not round-trip";
            }

            if (!Same(a, TraceFiles.ReadOracleGeneral(oracle, int.MaxValue)))
            {
                return "oracleGeneral trace did not round-trip";
            }

            var firstHalf = TraceFiles.ReadOracleGeneral(oracle, a.Count / 2);
            return firstHalf.Count == a.Count / 2 ? null : "--requests did not limit the oracleGeneral reader";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static bool Same(Trace x, Trace y) =>
        x.Keys.AsSpan().SequenceEqual(y.Keys) && x.Sizes.AsSpan().SequenceEqual(y.Sizes) && x.Times.AsSpan().SequenceEqual(y.Times);
}
