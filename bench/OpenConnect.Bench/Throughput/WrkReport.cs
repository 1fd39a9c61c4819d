using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenConnect.Bench.Throughput;

/// <summary>One wrk run's figures, parsed from its text report (wrk prints sizes in binary units).</summary>
public sealed record WrkReport(
    long Requests,
    double DurationSeconds,
    double BytesRead,
    double RequestsPerSecond,
    double BytesPerSecond,
    double P50Ms,
    double P99Ms,
    long SocketErrors,
    long Timeouts,
    long Non2xx)
{
    public double GigabytesPerSecond => BytesPerSecond / 1e9;

    public long Errors => SocketErrors + Timeouts + Non2xx;

    public static WrkReport Parse(string text)
    {
        var total = Match(text, @"(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read");
        var rps = Match(text, @"Requests/sec:\s+([\d.]+)");
        var transfer = Match(text, @"Transfer/sec:\s+([\d.]+)([KMGT]?B)");
        var p50 = Match(text, @"^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$");
        var p99 = Match(text, @"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$");
        var socket = Regex.Match(text, @"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)");
        var non2xx = Regex.Match(text, @"Non-2xx or 3xx responses: (\d+)");
        long socketErrors = 0, timeouts = 0;
        if (socket.Success)
        {
            socketErrors = Long(socket.Groups[1]) + Long(socket.Groups[2]) + Long(socket.Groups[3]);
            timeouts = Long(socket.Groups[4]);
        }

        // With no request completed, wrk prints 0 for every percentile: not a latency, so NaN (not measured).
        var requests = Long(total.Groups[1]);
        var p50Ms = requests > 0 ? Milliseconds(p50.Groups[1].Value, p50.Groups[2].Value) : double.NaN;
        var p99Ms = requests > 0 ? Milliseconds(p99.Groups[1].Value, p99.Groups[2].Value) : double.NaN;
        return new WrkReport(
            requests,
            Milliseconds(total.Groups[2].Value, total.Groups[3].Value) / 1000,
            Bytes(total.Groups[4].Value, total.Groups[5].Value),
            Double(rps.Groups[1].Value),
            Bytes(transfer.Groups[1].Value, transfer.Groups[2].Value),
            p50Ms,
            p99Ms,
            socketErrors,
            timeouts,
            non2xx.Success ? Long(non2xx.Groups[1]) : 0);
    }

    private static System.Text.RegularExpressions.Match Match(string text, string pattern)
    {
        var match = Regex.Match(text, pattern, RegexOptions.Multiline);
        return match.Success ? match : throw new FormatException($"wrk output has no match for /{pattern}/:\n{text}");
    }

    private static long Long(Group group) => long.Parse(group.Value, CultureInfo.InvariantCulture);

    private static double Double(string value) => double.Parse(value, CultureInfo.InvariantCulture);

    private static double Milliseconds(string value, string unit) => Double(value) * unit switch
    {
        "us" => 0.001,
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        _ => 3_600_000,
    };

    private static double Bytes(string value, string unit) => Double(value) * unit switch
    {
        "B" => 1,
        "KB" => 1024,
        "MB" => 1024 * 1024,
        "GB" => 1024.0 * 1024 * 1024,
        _ => 1024.0 * 1024 * 1024 * 1024,
    };
}
