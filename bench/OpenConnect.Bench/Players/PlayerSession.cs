using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using OpenConnect.Steering.Play;

namespace OpenConnect.Bench.Players;

/// <summary>What one headless playback measured.</summary>
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
    string? Error);

/// <summary>
/// One headless player: <c>/play/{title}</c> on steering, the steered multivariant playlist, the
/// default pathway's media playlists (a rendition's playlist and init segment are fetched on first
/// use), then video and audio segments in order from the appliance, every byte read through the
/// session's <see cref="TraceLimiter"/>. The buffer is simulated in real time
/// (<see cref="PlaybackBuffer"/>); downloads pause while the buffer holds more than
/// <see cref="MaxBufferSeconds"/> minus one segment.
/// </summary>
internal sealed class PlayerSession(HttpClient http, string steeringUrl, string title, NetworkTrace trace, IAbrRule rule)
{
    public const double MaxBufferSeconds = 30;
    private const int ReadSize = 16 * 1024;

    private readonly ThroughputEstimator _estimator = new();
    private readonly Dictionary<string, MediaPlaylist> _playlists = [];
    private TraceLimiter _limiter = null!;
    private long _bytes;
    private double? _steeringMs;
    private double _traceBytes;
    private long _transferBytes;

    public async Task<SessionResult> RunAsync(CancellationToken cancellationToken)
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
            var ladder = VariantLadder.Parse(await GetTextAsync(multivariantUrl, cancellationToken).ConfigureAwait(false));
            appliance = new Uri(ladder.Variants[0].Uri).Authority;
            _steeringMs = _limiter.Now * 1000;
            var audio = await PlaylistAsync(ladder.AudioUri, cancellationToken).ConfigureAwait(false);
            var current = 0;
            var video = await PlaylistAsync(ladder.Variants[current].Uri, cancellationToken).ConfigureAwait(false);
            buffer = new PlaybackBuffer(video.Segments[0].Seconds);
            var filled = false;
            for (var i = 0; i < video.Segments.Count; i++)
            {
                var level = buffer.Level(_limiter.Now);
                filled |= buffer.Playing && level >= ThroughputRule.LowBufferSeconds;
                var room = level - (MaxBufferSeconds - video.Segments[i].Seconds);
                if (buffer.Playing && room > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(room), cancellationToken).ConfigureAwait(false);
                    level = buffer.Level(_limiter.Now);
                }

                if (i > 0)
                {
                    var next = rule.Choose(ladder.Bitrates, new AbrInput(current, level, _estimator.Estimate, filled));
                    if (next != current)
                    {
                        switches++;
                        current = next;
                        video = await PlaylistAsync(ladder.Variants[current].Uri, cancellationToken).ConfigureAwait(false);
                    }
                }

                var started = _limiter.Now;
                var bytes = await GetBytesAsync(video.Segments[i].Uri, cancellationToken).ConfigureAwait(false);
                if (i < audio.Segments.Count)
                {
                    bytes += await GetBytesAsync(audio.Segments[i].Uri, cancellationToken).ConfigureAwait(false);
                }

                var done = _limiter.Now;
                _estimator.Add(bytes, done - started);
                // What the trace could carry in the same time after the two requests' round trips
                // (a little over 1 when a download starts with the bucket's burst).
                _traceBytes += trace.BytesBetween(started + (2 * trace.RoundTrip.TotalSeconds), done);
                _transferBytes += bytes;
                var seconds = video.Segments[i].Seconds;
                buffer.Append(done, seconds, i == video.Segments.Count - 1);
                bitrateSeconds += ladder.Bitrates[current] * seconds;
                mediaSeconds += seconds;
            }

            return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException or FormatException or JsonException or KeyNotFoundException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Result(buffer, appliance, switches, bitrateSeconds, mediaSeconds, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private SessionResult Result(PlaybackBuffer? buffer, string? appliance, int switches, double bitrateSeconds, double mediaSeconds, string? error) => new(
        trace.Name,
        rule.Name,
        appliance,
        _steeringMs,
        buffer?.FirstFrameAt * 1000,
        buffer?.FirstStallAt,
        mediaSeconds,
        buffer?.RebufferSeconds ?? 0,
        buffer?.Rebuffers ?? 0,
        switches,
        mediaSeconds > 0 ? bitrateSeconds / mediaSeconds : 0,
        _bytes,
        _traceBytes,
        _transferBytes,
        error);

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

    private async Task<string> GetTextAsync(string uri, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await FetchAsync(uri, body, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length);
    }

    private Task<long> GetBytesAsync(string uri, CancellationToken cancellationToken) => FetchAsync(uri, null, cancellationToken);

    /// <summary>One GET: the link's round trip, then the body read through the limiter.</summary>
    private async Task<long> FetchAsync(string uri, Stream? copyTo, CancellationToken cancellationToken)
    {
        await Task.Delay(trace.RoundTrip, cancellationToken).ConfigureAwait(false);
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {uri} answered {(int)response.StatusCode}");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var chunk = ArrayPool<byte>.Shared.Rent(ReadSize);
        try
        {
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(chunk.AsMemory(0, ReadSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += n;
                copyTo?.Write(chunk, 0, n);
                await _limiter.PayAsync(n, cancellationToken).ConfigureAwait(false);
            }

            _bytes += total;
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
        var steering = text.Split('\n').FirstOrDefault(l => l.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal))
            ?? throw new InvalidDataException("the multivariant playlist has no EXT-X-CONTENT-STEERING tag");
        var pathway = HlsAttributeList.Parse(steering["#EXT-X-CONTENT-STEERING:".Length..].Trim()).Get("PATHWAY-ID")
            ?? throw new InvalidDataException("EXT-X-CONTENT-STEERING names no PATHWAY-ID");
        var playlist = HlsMultivariant.Parse(text) ?? throw new InvalidDataException("not a multivariant playlist");
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
