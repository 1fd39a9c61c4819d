using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OpenConnect.Steering.Play;

namespace OpenConnect.Bench.Players;

/// <summary>What one headless playback measured.</summary>
/// <remarks>
/// <see cref="Stopped"/>: the session was still playing when its run ended (not an error).
/// <see cref="PathwaySwitches"/>: moves to another pathway after a failed request;
/// <see cref="SteeringSwitches"/>: moves because steering's manifest put another pathway first.
/// <see cref="BytesByHost"/>: body bytes per host (authority) they came from.
/// <see cref="Failures"/>: requests that failed and were retried on another pathway, with the pathway and why.
/// <see cref="WatchedSeconds"/>: media time watched: the whole title when it was fetched to the end,
/// else the time since the first frame less the stalls (at most what was fetched).
/// </remarks>
public sealed record SessionResult(
    string Trace,
    string Rule,
    string? Appliance,
    double? SteeringMs,
    double? TtffMs,
    double? FirstStallAt,
    double PlayedSeconds,
    double RebufferSeconds,
    int Rebuffers,
    int Switches,
    double AverageBitrate,
    long Bytes,
    double TraceBytes,
    long SegmentBytes,
    string? Error,
    bool Stopped = false,
    int PathwaySwitches = 0,
    int SteeringSwitches = 0,
    IReadOnlyDictionary<string, long>? BytesByHost = null,
    IReadOnlyList<string>? Failures = null,
    double WatchedSeconds = 0);

/// <summary>
/// How a session moves between the pathways of its steered playlist, as a Content Steering player
/// does: a request that fails (connection refused or reset, an error status, no answer within
/// <see cref="RequestTimeout"/>) puts its pathway in the penalty box for <see cref="Penalty"/> and
/// is retried at once on the next pathway in priority order; with <see cref="FollowSteering"/> the
/// session reloads steering's manifest every TTL and moves to the pathway it puts first.
/// </summary>
public sealed record PathwayFailover(TimeSpan RequestTimeout, TimeSpan Penalty, bool FollowSteering)
{
    /// <summary>5 s per request, 15 s in the penalty box (hls.js's pathway penalty), steering followed.</summary>
    public static readonly PathwayFailover Default = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), FollowSteering: true);
}

/// <summary>
/// One headless player: <c>/play/{title}</c> on steering, the steered multivariant playlist, the
/// default pathway's media playlists (a rendition's playlist and init segment are fetched on first
/// use), then video and audio segments in order from the appliance, every byte read through the
/// session's <see cref="TraceLimiter"/>. The buffer is simulated in real time
/// (<see cref="PlaybackBuffer"/>); downloads pause while the buffer holds more than
/// <see cref="MaxBufferSeconds"/> minus one segment. Without <paramref name="failover"/> the session
/// stays on the default pathway and ends at the first failed request (the players bench); with it,
/// it moves between pathways (the fleet bench). With <paramref name="playOut"/> the session lasts
/// until its buffer has played out after the last segment, as a viewer watching to the end (the
/// fleet bench keeps a number of viewers busy); without, it ends with the last download.
/// </summary>
internal sealed class PlayerSession(HttpClient http, string steeringUrl, string title, NetworkTrace trace, IAbrRule rule, PathwayFailover? failover = null, bool playOut = false)
{
    public const double MaxBufferSeconds = 30;
    private const int ReadSize = 16 * 1024;

    private readonly ThroughputEstimator _estimator = new();
    private readonly Dictionary<string, MediaPlaylist> _playlists = [];
    private readonly Dictionary<string, long> _bytesByHost = new(StringComparer.Ordinal);
    private readonly List<string> _failures = [];
    private TraceLimiter _limiter = null!;
    private long _bytes;
    private double? _steeringMs;
    private double _traceBytes;
    private long _transferBytes;
    private SteeredPlaylist _steered = null!;
    private int[] _priority = [];
    private double[] _penalizedUntil = [];
    private int _pathway;
    private int _pathwaySwitches;
    private int _steeringSwitches;
    private string? _steeringUri;
    private double _steeringDueAt;

    /// <summary>Plays the title once; <paramref name="stop"/> ends the session early (between segments) as a viewer leaving, not an error.</summary>
    public async Task<SessionResult> RunAsync(CancellationToken cancellationToken, CancellationToken stop = default)
    {
        _limiter = new TraceLimiter(trace, Stopwatch.GetTimestamp());
        PlaybackBuffer? buffer = null;
        string? appliance = null;
        var switches = 0;
        var bitrateSeconds = 0.0;
        var mediaSeconds = 0.0;
        try
        {
            using var play = JsonDocument.Parse(await GetTextAsync($"{steeringUrl}/play/{title}", cancellationToken).ConfigureAwait(false));
            var multivariantUrl = play.RootElement.GetProperty("hls").GetProperty("url").GetString()
                ?? throw new InvalidDataException("/play gave no hls.url");
            var text = await GetTextAsync(multivariantUrl, cancellationToken).ConfigureAwait(false);
            _steered = failover is null ? new SteeredPlaylist(null, [("default", VariantLadder.Parse(text))]) : SteeredPlaylist.Parse(text);
            _priority = [.. Enumerable.Range(0, _steered.Pathways.Count)];
            _penalizedUntil = new double[_steered.Pathways.Count];
            _steeringUri = failover is { FollowSteering: true } ? _steered.SteeringUri : null;
            var ladder = _steered.Pathways[0].Ladder;
            appliance = Host(ladder.Variants[0].Uri);
            _steeringMs = _limiter.Now * 1000;
            var current = 0;
            var segments = await WithFailoverAsync(async l =>
            {
                await PlaylistAsync(l.AudioUri, cancellationToken).ConfigureAwait(false);
                return (await PlaylistAsync(l.Variants[current].Uri, cancellationToken).ConfigureAwait(false)).Segments;
            }, cancellationToken).ConfigureAwait(false);
            buffer = new PlaybackBuffer(segments[0].Seconds);
            var filled = false;
            for (var i = 0; i < segments.Count; i++)
            {
                if (stop.IsCancellationRequested)
                {
                    return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, null, stopped: true);
                }

                var level = buffer.Level(_limiter.Now);
                filled |= buffer.Playing && level >= ThroughputRule.LowBufferSeconds;
                var room = level - (MaxBufferSeconds - segments[i].Seconds);
                if (buffer.Playing && room > 0)
                {
                    using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop);
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(room), wake.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                    {
                        return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, null, stopped: true);
                    }

                    level = buffer.Level(_limiter.Now);
                }

                await FollowSteeringAsync(cancellationToken).ConfigureAwait(false);
                if (i > 0)
                {
                    var next = rule.Choose(ladder.Bitrates, new AbrInput(current, level, _estimator.Estimate, filled));
                    if (next != current)
                    {
                        switches++;
                        current = next;
                        await WithFailoverAsync(l => PlaylistAsync(l.Variants[current].Uri, cancellationToken), cancellationToken).ConfigureAwait(false);
                    }
                }

                var started = _limiter.Now;
                var index = i;
                var (bytes, seconds) = await WithFailoverAsync(async l =>
                {
                    var video = await PlaylistAsync(l.Variants[current].Uri, cancellationToken).ConfigureAwait(false);
                    var audio = await PlaylistAsync(l.AudioUri, cancellationToken).ConfigureAwait(false);
                    var fetched = await GetBytesAsync(video.Segments[index].Uri, cancellationToken).ConfigureAwait(false);
                    if (index < audio.Segments.Count)
                    {
                        fetched += await GetBytesAsync(audio.Segments[index].Uri, cancellationToken).ConfigureAwait(false);
                    }

                    return (fetched, video.Segments[index].Seconds);
                }, cancellationToken).ConfigureAwait(false);

                var done = _limiter.Now;
                _estimator.Add(bytes, done - started);
                // What the trace could carry in the same time after the two requests' round trips
                // (a little over 1 when a download starts with the bucket's burst).
                _traceBytes += trace.BytesBetween(started + (2 * trace.RoundTrip.TotalSeconds), done);
                _transferBytes += bytes;
                buffer.Append(done, seconds, i == segments.Count - 1);
                bitrateSeconds += ladder.Bitrates[current] * seconds;
                mediaSeconds += seconds;
            }

            if (playOut && buffer.Level(_limiter.Now) is var left and > 0)
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(left), wake.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, null, stopped: true);
                }
            }

            return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException or FormatException or JsonException or KeyNotFoundException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private VariantLadder Ladder => _steered.Pathways[_pathway].Ladder;

    private static string Host(string uri) => new Uri(uri).Authority;

    /// <summary>
    /// Runs <paramref name="action"/> on the current pathway's ladder; with failover, a failed try
    /// penalizes that pathway and moves to the next one (each pathway tried at most once per call).
    /// </summary>
    private async Task<T> WithFailoverAsync<T>(Func<VariantLadder, Task<T>> action, CancellationToken cancellationToken)
    {
        var tried = new bool[_steered.Pathways.Count];
        while (true)
        {
            tried[_pathway] = true;
            try
            {
                return await action(Ladder).ConfigureAwait(false);
            }
            catch (Exception ex) when (failover is not null && ex is HttpRequestException or IOException or InvalidDataException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var now = _limiter.Now;
                _failures.Add(string.Create(CultureInfo.InvariantCulture, $"{now:F1}s {_steered.Pathways[_pathway].Id}: {ex.GetType().Name}: {ex.Message}"));
                _penalizedUntil[_pathway] = now + failover.Penalty.TotalSeconds;
                var next = PathwayChoice.Next(_priority, tried, _penalizedUntil, now);
                if (next < 0)
                {
                    throw;
                }

                _pathway = next;
                _pathwaySwitches++;
            }
        }
    }

    /// <summary>When steering's manifest is due: reloads it (as <c>_HLS_pathway</c> the pathway in use) and moves to the pathway it puts first. A failed reload is retried after the TTL.</summary>
    private async Task FollowSteeringAsync(CancellationToken cancellationToken)
    {
        if (_steeringUri is null || _limiter.Now < _steeringDueAt || failover is null)
        {
            return;
        }

        var ttl = 10.0;
        try
        {
            var separator = _steeringUri.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            var throughput = _estimator.Estimate is { } estimate ? string.Create(CultureInfo.InvariantCulture, $"&_HLS_throughput={estimate:F0}") : "";
            var uri = $"{_steeringUri}{separator}_HLS_pathway={Uri.EscapeDataString(_steered.Pathways[_pathway].Id)}{throughput}";
            using var manifest = JsonDocument.Parse(await GetTextAsync(uri, cancellationToken, countBytes: false).ConfigureAwait(false));
            var root = manifest.RootElement;
            ttl = root.TryGetProperty("TTL", out var t) && t.TryGetDouble(out var seconds) && seconds > 0 ? seconds : ttl;
            if (root.TryGetProperty("RELOAD-URI", out var reload) && reload.GetString() is { Length: > 0 } next)
            {
                _steeringUri = new Uri(new Uri(_steeringUri), next).AbsoluteUri;
            }

            if (root.TryGetProperty("PATHWAY-PRIORITY", out var priority))
            {
                var ids = priority.EnumerateArray().Select(p => p.GetString()).ToList();
                _priority = PathwayChoice.Order([.. _steered.Pathways.Select(p => p.Id)], ids);
                var first = PathwayChoice.Next(_priority, new bool[_priority.Length], _penalizedUntil, _limiter.Now);
                if (first >= 0 && first != _pathway)
                {
                    _pathway = first;
                    _steeringSwitches++;
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException or InvalidOperationException or UriFormatException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            _failures.Add(string.Create(CultureInfo.InvariantCulture, $"{_limiter.Now:F1}s steering: {ex.GetType().Name}: {ex.Message}"));
        }

        _steeringDueAt = _limiter.Now + ttl;
    }

    private SessionResult Result(PlaybackBuffer? buffer, string? appliance, int switches, double bitrateSeconds, double mediaSeconds, string? error, bool stopped = false) => new(
        trace.Name,
        rule.Name,
        appliance,
        _steeringMs,
        buffer?.FirstFrameAt * 1000,
        buffer?.FirstStallAt,
        mediaSeconds,
        buffer?.RebufferSecondsAt(_limiter.Now) ?? 0,
        buffer?.Rebuffers ?? 0,
        switches,
        mediaSeconds > 0 ? bitrateSeconds / mediaSeconds : 0,
        _bytes,
        _traceBytes,
        _transferBytes,
        error,
        stopped,
        _pathwaySwitches,
        _steeringSwitches,
        new Dictionary<string, long>(_bytesByHost, StringComparer.Ordinal),
        [.. _failures],
        Watched(buffer, mediaSeconds, error is null && !stopped));

    private double Watched(PlaybackBuffer? buffer, double mediaSeconds, bool complete)
    {
        if (complete || buffer?.FirstFrameAt is not { } first)
        {
            return complete ? mediaSeconds : 0;
        }

        var now = _limiter.Now;
        return Math.Clamp(now - first - buffer.RebufferSecondsAt(now), 0, mediaSeconds);
    }

    private async Task<MediaPlaylist> PlaylistAsync(string uri, CancellationToken cancellationToken)
    {
        if (!_playlists.TryGetValue(uri, out var playlist))
        {
            playlist = MediaPlaylist.Parse(uri, await GetTextAsync(uri, cancellationToken).ConfigureAwait(false));
            if (playlist.InitUri is { } init)
            {
                await GetBytesAsync(init, cancellationToken).ConfigureAwait(false);
            }

            _playlists[uri] = playlist;
        }

        return playlist;
    }

    private async Task<string> GetTextAsync(string uri, CancellationToken cancellationToken, bool countBytes = true)
    {
        using var body = new MemoryStream();
        await FetchAsync(uri, body, countBytes, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length);
    }

    private Task<long> GetBytesAsync(string uri, CancellationToken cancellationToken) => FetchAsync(uri, null, true, cancellationToken);

    /// <summary>One GET: the link's round trip, then the body read through the limiter; with failover, within its request timeout.</summary>
    private async Task<long> FetchAsync(string uri, Stream? copyTo, bool countBytes, CancellationToken cancellationToken)
    {
        using var deadline = failover is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline?.CancelAfter(failover!.RequestTimeout);
        var token = deadline?.Token ?? cancellationToken;
        await Task.Delay(trace.RoundTrip, token).ConfigureAwait(false);
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {uri} answered {(int)response.StatusCode}");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        var chunk = ArrayPool<byte>.Shared.Rent(ReadSize);
        try
        {
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(chunk.AsMemory(0, ReadSize), token).ConfigureAwait(false)) > 0)
            {
                total += n;
                copyTo?.Write(chunk, 0, n);
                await _limiter.PayAsync(n, token).ConfigureAwait(false);
            }

            if (countBytes)
            {
                _bytes += total;
                var host = Host(uri);
                _bytesByHost[host] = _bytesByHost.GetValueOrDefault(host) + total;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}

/// <summary>The default pathway's video variants (ascending bandwidth) and its audio rendition, from a steered multivariant playlist.</summary>
public sealed record VariantLadder(IReadOnlyList<(double Bandwidth, string Uri)> Variants, string AudioUri)
{
    public IReadOnlyList<double> Bitrates { get; } = [.. Variants.Select(v => v.Bandwidth)];

    public static VariantLadder Parse(string text)
    {
        var (pathway, _) = SteeringTag(text);
        var playlist = HlsMultivariant.Parse(text) ?? throw new InvalidDataException("not a multivariant playlist");
        return Of(playlist, pathway);
    }

    /// <summary>The <c>EXT-X-CONTENT-STEERING</c> tag's default pathway and server URI.</summary>
    internal static (string Pathway, string? ServerUri) SteeringTag(string text)
    {
        var steering = text.Split('\n').FirstOrDefault(l => l.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal))
            ?? throw new InvalidDataException("the multivariant playlist has no EXT-X-CONTENT-STEERING tag");
        var attributes = HlsAttributeList.Parse(steering["#EXT-X-CONTENT-STEERING:".Length..].Trim());
        var pathway = attributes.Get("PATHWAY-ID") ?? throw new InvalidDataException("EXT-X-CONTENT-STEERING names no PATHWAY-ID");
        return (pathway, attributes.Get("SERVER-URI"));
    }

    /// <summary>The ladder of pathway <paramref name="pathway"/> of a parsed multivariant playlist.</summary>
    internal static VariantLadder Of(HlsMultivariant playlist, string pathway)
    {
        var variants = playlist.Variants.Where(v => v.Attributes.Get("PATHWAY-ID") == pathway).ToList();
        if (variants.Count == 0)
        {
            throw new InvalidDataException($"no variant on the default pathway {pathway}");
        }

        var group = variants[0].Attributes.Get("AUDIO") ?? throw new InvalidDataException("variants carry no AUDIO group");
        var audio = playlist.Media.FirstOrDefault(m => m.Get("TYPE") == "AUDIO" && m.Get("GROUP-ID") == group)?.Get("URI")
            ?? throw new InvalidDataException($"no audio rendition in group {group}");
        var ladder = variants
            .Select(v => (Bandwidth: double.Parse(v.Attributes.Get("BANDWIDTH") ?? throw new InvalidDataException("a variant has no BANDWIDTH"), System.Globalization.CultureInfo.InvariantCulture), v.Uri))
            .OrderBy(v => v.Bandwidth)
            .ToList();
        return new VariantLadder(ladder, audio);
    }
}

/// <summary>
/// Every pathway of a steered multivariant playlist with its ladder, the default pathway first and
/// the others in playlist order (steering's priority), and the steering server's URI.
/// </summary>
public sealed record SteeredPlaylist(string? SteeringUri, IReadOnlyList<(string Id, VariantLadder Ladder)> Pathways)
{
    public static SteeredPlaylist Parse(string text)
    {
        var (pathway, serverUri) = VariantLadder.SteeringTag(text);
        var playlist = HlsMultivariant.Parse(text) ?? throw new InvalidDataException("not a multivariant playlist");
        var ids = new List<string> { pathway };
        foreach (var (attributes, _) in playlist.Variants)
        {
            if (attributes.Get("PATHWAY-ID") is { } id && !ids.Contains(id))
            {
                ids.Add(id);
            }
        }

        return new SteeredPlaylist(serverUri, [.. ids.Select(id => (id, VariantLadder.Of(playlist, id)))]);
    }
}

/// <summary>A VOD media playlist: the init segment and the media segments with their durations, as absolute URIs.</summary>
public sealed record MediaPlaylist(string? InitUri, IReadOnlyList<(string Uri, double Seconds)> Segments)
{
    public static MediaPlaylist Parse(string uri, string text)
    {
        var baseUri = new Uri(uri);
        string? init = null;
        var segments = new List<(string, double)>();
        double? duration = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal))
            {
                init = HlsAttributeList.Parse(line["#EXT-X-MAP:".Length..]).Get("URI") is { } map ? new Uri(baseUri, map).AbsoluteUri : null;
            }
            else if (line.StartsWith("#EXTINF:", StringComparison.Ordinal))
            {
                duration = double.Parse(line["#EXTINF:".Length..].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.Length > 0 && line[0] != '#' && duration is { } seconds)
            {
                segments.Add((new Uri(baseUri, line).AbsoluteUri, seconds));
                duration = null;
            }
        }

        return segments.Count == 0 ? throw new InvalidDataException($"{uri} lists no segments") : new MediaPlaylist(init, segments);
    }
}
