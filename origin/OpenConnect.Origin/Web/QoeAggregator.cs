using Microsoft.Extensions.Options;
using Prometheus;

namespace OpenConnect.Origin.Web;

/// <summary>A player start as the QoE page lists it (no session id: it is the player's own).</summary>
public sealed record QoeStart(DateTimeOffset At, string Title, string Player, string Abr, string Site, string Appliance, double TtffMs);

/// <summary>
/// A bitrate reading at a time. <see cref="Series"/> tells one session's readings from another's
/// within one summary (0, 1, … in order of each session's first reading there) without showing
/// the session id.
/// </summary>
public sealed record QoeBitratePoint(DateTimeOffset At, int Series, string Title, double Kbps);

/// <summary>Play and rebuffer time of one site and appliance.</summary>
public sealed record QoeRebufferRow(string Site, string Appliance, double PlaySeconds, double RebufferSeconds, long RebufferEvents, double RebufferRatio, double AverageKbps);

/// <summary>What the QoE page draws.</summary>
public sealed record QoeSummary(IReadOnlyList<QoeStart> Starts, IReadOnlyList<QoeRebufferRow> Rebuffering, IReadOnlyList<QoeBitratePoint> Bitrate, long StartFailures, long ExitsBeforeStart, long FatalErrors, long Switches);

/// <summary>
/// Turns beacons into Prometheus metrics and keeps the recent starts and bitrate readings for the QoE
/// page. Session ids stay inside: a summary shows none (anyone may read it, and a session id is what
/// a player's beacons and view counts are keyed by). Label values come from players, so each free-text label (site, appliance) keeps at most
/// <see cref="WebAppOptions.MaxLabelValues"/> distinct values; later ones are counted as <c>other</c>.
/// </summary>
public sealed class QoeAggregator
{
    public const string Other = "other";
    public const string Unknown = "unknown";

    private static readonly double[] TtffBuckets = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20, 30];

    private readonly Histogram _ttff;
    private readonly Counter _plays;
    private readonly Counter _startFailures;
    private readonly Counter _exits;
    private readonly Counter _rebufferEvents;
    private readonly Counter _rebufferSeconds;
    private readonly Counter _playSeconds;
    private readonly Counter _playedBits;
    private readonly Counter _switches;
    private readonly Counter _fatal;
    private readonly Counter _beacons;
    private readonly TimeProvider _time;
    private readonly int _maxLabels;
    private readonly int _recent;
    private readonly HashSet<string> _sites = new(StringComparer.Ordinal);
    private readonly HashSet<string> _appliances = new(StringComparer.Ordinal);
    private readonly Queue<QoeStart> _starts = new();
    private readonly Queue<(string Session, DateTimeOffset At, string Title, double Kbps)> _bitrate = new();
    private readonly Dictionary<(string Site, string Appliance), (double Play, double Rebuffer, long Events, double Kbits)> _byPlace = [];
    private long _startFailureCount;
    private long _exitCount;
    private long _fatalCount;
    private long _switchCount;

    public QoeAggregator(IMetricFactory metrics, IOptions<OriginOptions> options, TimeProvider time)
    {
        _time = time;
        _maxLabels = options.Value.Web.MaxLabelValues;
        _recent = options.Value.Web.RecentSamples;
        _ttff = metrics.CreateHistogram("openconnect_qoe_ttff_seconds", "Players' time to first frame, from setting the source to the first presented frame.", ["player", "site"], new HistogramConfiguration { Buckets = TtffBuckets });
        _plays = metrics.CreateCounter("openconnect_qoe_plays_total", "Plays that reached a first frame.", ["player", "site", "appliance"]);
        _startFailures = metrics.CreateCounter("openconnect_qoe_start_failures_total", "Video start failures (Vsf): a fatal error before the first frame.", ["player", "site"]);
        _exits = metrics.CreateCounter("openconnect_qoe_exits_before_start_total", "Exits before video start (EBVS): the viewer left before the first frame.", ["player", "site"]);
        _rebufferEvents = metrics.CreateCounter("openconnect_qoe_rebuffer_events_total", "Rebuffering events (Vre count) after the first frame.", ["site", "appliance"]);
        _rebufferSeconds = metrics.CreateCounter("openconnect_qoe_rebuffer_seconds_total", "Time spent rebuffering after the first frame (Vre duration).", ["site", "appliance"]);
        _playSeconds = metrics.CreateCounter("openconnect_qoe_play_seconds_total", "Time spent playing; rebuffer ratio = rebuffer / (play + rebuffer).", ["site", "appliance"]);
        _playedBits = metrics.CreateCounter("openconnect_qoe_played_bits_total", "Rendition bitrate integrated over play time (bits); average bitrate in bits per second = this / play seconds.", ["site", "appliance"]);
        _switches = metrics.CreateCounter("openconnect_qoe_bitrate_switches_total", "Rendition switches.", ["player", "abr"]);
        _fatal = metrics.CreateCounter("openconnect_qoe_fatal_errors_total", "Fatal player errors (before or after start).", ["player"]);
        _beacons = metrics.CreateCounter("openconnect_qoe_beacons_total", "QoE beacons received, by outcome: accepted, or rejected (400).", ["outcome"]);
    }

    public void Rejected() => _beacons.WithLabels("rejected").Inc();

    public void Record(QoeBeacon b)
    {
        _beacons.WithLabels("accepted").Inc();
        var now = _time.GetUtcNow();
        lock (_starts)
        {
            var site = Bound(_sites, b.Site);
            var appliance = Bound(_appliances, b.Appliance);
            var player = b.Player!;
            switch (b.Kind)
            {
                case "start":
                    _ttff.WithLabels(player, site).Observe(b.TtffMs!.Value / 1000);
                    _plays.WithLabels(player, site, appliance).Inc();
                    Push(_starts, new QoeStart(now, b.Title!, player, b.Abr!, site, appliance, b.TtffMs.Value));
                    break;
                case "failure":
                    _startFailures.WithLabels(player, site).Inc();
                    _fatal.WithLabels(player).Inc();
                    _startFailureCount++;
                    _fatalCount++;
                    break;
                case "exit":
                    _exits.WithLabels(player, site).Inc();
                    _exitCount++;
                    break;
                case "error":
                    _fatal.WithLabels(player).Inc();
                    _fatalCount++;
                    break;
            }

            AddInterval(b, site, appliance, now);
        }
    }

    private void AddInterval(QoeBeacon b, string site, string appliance, DateTimeOffset now)
    {
        var play = b.PlaySeconds ?? 0;
        var rebuffer = b.RebufferSeconds ?? 0;
        var events = b.RebufferCount ?? 0;
        var kbits = b.PlayedKbits ?? 0;
        if (play > 0 || rebuffer > 0 || events > 0)
        {
            _playSeconds.WithLabels(site, appliance).Inc(play);
            _rebufferSeconds.WithLabels(site, appliance).Inc(rebuffer);
            _rebufferEvents.WithLabels(site, appliance).Inc(events);
            _playedBits.WithLabels(site, appliance).Inc(kbits * 1000);
            var key = (site, appliance);
            var sum = _byPlace.GetValueOrDefault(key);
            _byPlace[key] = (sum.Play + play, sum.Rebuffer + rebuffer, sum.Events + events, sum.Kbits + kbits);
        }

        if (b.Switches is > 0)
        {
            _switches.WithLabels(b.Player!, b.Abr!).Inc(b.Switches.Value);
            _switchCount += b.Switches.Value;
        }

        if (b.BitrateKbps is > 0)
        {
            Push(_bitrate, (b.Session!, now, b.Title!, b.BitrateKbps.Value));
        }
    }

    public QoeSummary Summary()
    {
        lock (_starts)
        {
            var rows = _byPlace
                .OrderBy(p => p.Key.Site, StringComparer.Ordinal).ThenBy(p => p.Key.Appliance, StringComparer.Ordinal)
                .Select(p => new QoeRebufferRow(
                    p.Key.Site,
                    p.Key.Appliance,
                    p.Value.Play,
                    p.Value.Rebuffer,
                    p.Value.Events,
                    p.Value.Play + p.Value.Rebuffer > 0 ? p.Value.Rebuffer / (p.Value.Play + p.Value.Rebuffer) : 0,
                    p.Value.Play > 0 ? p.Value.Kbits / p.Value.Play : 0))
                .ToList();
            var series = new Dictionary<string, int>(StringComparer.Ordinal);
            var bitrate = new List<QoeBitratePoint>(_bitrate.Count);
            foreach (var (session, at, title, kbps) in _bitrate)
            {
                if (!series.TryGetValue(session, out var index))
                {
                    index = series.Count;
                    series[session] = index;
                }

                bitrate.Add(new QoeBitratePoint(at, index, title, kbps));
            }

            return new QoeSummary([.. _starts], rows, bitrate, _startFailureCount, _exitCount, _fatalCount, _switchCount);
        }
    }

    private string Bound(HashSet<string> seen, string? value)
    {
        if (value is null)
        {
            return Unknown;
        }

        if (seen.Contains(value) || (seen.Count < _maxLabels && seen.Add(value)))
        {
            return value;
        }

        return Other;
    }

    private void Push<T>(Queue<T> queue, T item)
    {
        queue.Enqueue(item);
        while (queue.Count > _recent)
        {
            queue.Dequeue();
        }
    }
}
