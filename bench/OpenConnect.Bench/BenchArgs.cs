namespace OpenConnect.Bench;

/// <summary>Scenario arguments given as <c>--name value</c> pairs.</summary>
public static class BenchArgs
{
    /// <summary>The pairs in order; an option without a value is a usage error.</summary>
    public static IEnumerable<(string Name, string Value)> Pairs(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                throw new BenchUsageException($"{args[i]}: missing value (see --help)");
            }

            yield return (args[i], args[i + 1]);
        }
    }
}
