using System.Runtime.CompilerServices;

// The cache-sim tests check the simulator, its ratios and option parsing, which are internal to the bench.
[assembly: InternalsVisibleTo("OpenConnect.Bench.Tests")]
