using System.Globalization;

namespace OpenConnect.Bench.Ingest;

/// <summary>Options of <c>bench ingest</c>.</summary>
internal sealed record IngestSettings(int FileMiB, IReadOnlyList<int> ChunkMiB, int Rounds, bool Shared)
{
    public const string Usage = """
        bench ingest [--file-mib N] [--chunks-mib 1,8] [--rounds N] [--stores file|file,shared]

        The same tus-js-client (node, tests/node/tus-upload.js) uploads the same random file to the
        origin (Release build, /files/) and to @tus/server with @tus/file-store
        (tests/node/tus-reference-server.js), servers pinned to core 0 and the client to core 1,
        alternating which server goes first in each round. Measures the upload phase only: the origin
        runs with Origin:Ingest:WhenBacklogged=delay and MaxBacklog=0, so completed uploads wait in
        state 'delayed' and nothing is transcoded. Each upload is deleted (TUS termination) after it
        is checked complete.

          --file-mib N      size of the uploaded file in MiB (default 256)
          --chunks-mib L    tus-js-client chunkSize values in MiB (default 1,8)
          --rounds N        uploads per server and chunk size (default 3)
          --stores L        the origin's upload stores: file (Origin:Ingest:Store=Local, default), or
                            file,shared to add a second origin with Store=Shared: records in a
                            throwaway PostgreSQL (scripts/postgres.sh) and bytes in an S3 multipart
                            upload in s3rver (an emulator, tests/node/s3rver.js), both pinned to
                            core 0 with the servers

        Needs node (with npm ci run in tests/node) and taskset.
        """;

    public static IngestSettings Parse(IReadOnlyList<string> args)
    {
        var fileMiB = 256;
        IReadOnlyList<int> chunks = [1, 8];
        var rounds = 3;
        var shared = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new BenchUsageException($"option '{name}' needs a value; see bench ingest --help");
            }

            var value = args[++i];
            switch (name)
            {
                case "--file-mib":
                    fileMiB = Number(name, value, 1, 4096);
                    break;
                case "--chunks-mib":
                    chunks = [.. value.Split(',').Select(v => Number(name, v, 1, 1024))];
                    if (chunks.Distinct().Count() != chunks.Count)
                    {
                        throw new BenchUsageException($"{name}: '{value}' lists a size twice");
                    }

                    break;
                case "--rounds":
                    rounds = Number(name, value, 1, 50);
                    break;
                case "--stores":
                    shared = value switch
                    {
                        "file" => false,
                        "file,shared" => true,
                        _ => throw new BenchUsageException($"{name}: '{value}' must be file or file,shared"),
                    };
                    break;
                default:
                    throw new BenchUsageException($"unknown option '{name}'; see bench ingest --help");
            }
        }

        return new IngestSettings(fileMiB, chunks, rounds, shared);
    }

    private static int Number(string name, string value, int min, int max)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new BenchUsageException($"{name}: '{value}' must be a whole number from {min} to {max}");
        }

        return n;
    }
}
