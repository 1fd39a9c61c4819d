using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Http;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;
using OpenConnect.Hosting.Tracing;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// One client connection of the <see cref="SegmentServer"/>: the request loop (read and parse a head from
/// Kestrel's input pipe, check access, look the object up, answer), like Kestrel's <c>SocketConnection</c>.
/// Owns the head and response buffers it reuses per request. Every content listener runs it: plaintext
/// and HTTPS data listeners and the parent listener (Kestrel's TLS middleware runs first there, so the
/// input pipe is already decrypted); bytes go out through the connection's <see cref="IResponseSender"/>,
/// <see cref="ZeroCopySender"/> on a plain socket, <see cref="PipeSender"/> under TLS.
/// </summary>
internal sealed partial class SegmentConnection
{
    /// <summary>Longest request target considered content: a token (up to 512 characters) plus a content path.</summary>
    private const int MaxTargetLength = 1024;

    private readonly SegmentServer _server;
    private readonly ConnectionContext _connection;
    private readonly Socket _socket;
    private readonly IResponseSender _sender;
    /// <summary>Size of a response head buffer: heads the planner writes are far below it.</summary>
    private const int OutBytes = 4096;

    // The request head (the summary's header values are ranges of it) and the response head buffer:
    // rented from the shared pool when a request starts and returned when its response is done, so an
    // idle keep-alive connection holds neither (28 KiB with the default limits).
    private readonly int _headCapacity;
    private byte[]? _head;
    private byte[]? _out;
    private readonly LimitsOptions _limits;
    private readonly System.Net.IPAddress? _client;

    // On the parent listener: the fleet client certificate the TLS handshake admitted, and its identity for the access log.
    private readonly bool _onParentListener;
    private readonly X509Certificate2? _parentCertificate;
    private readonly string? _caller;

    // Whether this client may fetch unsigned /v/…, decided under the access rules in _access; a reload
    // replaces the gate's rules, and the next request on an open connection decides again.
    private PlaybackAccess? _access;
    private bool _unsignedAllowed;
    private bool _awaitingFirstRequest = true;

    // What the access log records of the request being answered (set as the response is counted).
    private int _loggedStatus;
    private long _loggedBytes;
    private string _loggedCache = "-";

    // The last token verified on this connection: a player sends the same token with every
    // segment, so later requests skip the signature check while it covers the path and lasts.
    private string? _grantToken;
    private UrlToken? _grant;

    public SegmentConnection(SegmentServer server, ConnectionContext connection, Socket socket)
    {
        _server = server;
        _connection = connection;
        _socket = socket;
        var tls = connection.Features.Get<ITlsConnectionFeature>();
        _sender = tls is null ? new ZeroCopySender(socket, server.Readiness, connection, server.Logger) : new PipeSender(connection, server.Logger);
        _limits = server.Options.Limits;
        _headCapacity = _limits.MaxRequestLineBytes + _limits.MaxRequestHeaderBytes + 8;
        _client = (socket.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
        if (connection.Features.Get<ListenerKindFeature>()?.Kind == ListenerKind.Parent)
        {
            // Admitted by fleet certificate (checked per request, AccessGate.RefuseParentPull), never by network or token.
            _onParentListener = true;
            _parentCertificate = tls?.ClientCertificate;
            _caller = _parentCertificate is null ? null : FleetIdentity.FromCertificate(_parentCertificate)?.ToString();
        }
    }

    public void Unregister() => _sender.Unregister();

    /// <summary>Answers 503 at once (no request is read) to a connection over its address's cap.</summary>
    public ValueTask RefuseAsync() =>
        SendStatusAsync(503, "too many connections from this address"u8.ToArray(), isHead: false, allowOrigin: null, keepAlive: false, "Retry-After: 5\r\n"u8.ToArray());

    /// <summary>
    /// Serves requests until the connection ends; true when it must be handed to Kestrel. When the
    /// server stops, Kestrel asks every connection to close (<see cref="IConnectionLifetimeNotificationFeature"/>):
    /// an idle connection or one with a head under way closes at once, a response under way is
    /// finished and the connection closed after it, as Kestrel's own HTTP/1.1 connections do.
    /// </summary>
    public async Task<bool> RunAsync()
    {
        var input = _connection.Transport.Input;
        var closed = _connection.ConnectionClosed;
        var closeRequested = _connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        try
        {
            return await ServeRequestsAsync(input, closed, closeRequested).ConfigureAwait(false);
        }
        finally
        {
            ReturnBuffers();
        }
    }

    private async Task<bool> ServeRequestsAsync(System.IO.Pipelines.PipeReader input, CancellationToken closed, CancellationToken closeRequested)
    {
        while (true)
        {
            var result = await ReadHeadAsync(input, closed, closeRequested).ConfigureAwait(false);
            if (result is null)
            {
                return false;
            }

            var (status, request, handOver) = result.Value;
            if (handOver)
            {
                return true;
            }

            if (status != ParseStatus.Complete)
            {
                await SendStatusAsync(StatusFor(status), MessageFor(status), isHead: false, allowOrigin: null, keepAlive: false).ConfigureAwait(false);
                return false;
            }

            var began = Stopwatch.GetTimestamp();
            _loggedStatus = 0;
            _loggedBytes = 0;
            _loggedCache = "-";
            using var activity = RoleTracing.Source.HasListeners() ? StartTrace(request!) : null;
            var keepAlive = await HandleAsync(request!).ConfigureAwait(false);
            if (activity is not null)
            {
                EndTrace(activity);
            }

            if (_server.AccessLog.Enabled && _loggedStatus != 0)
            {
                _server.AccessLog.Write(new AccessEntry(DateTimeOffset.UtcNow, _client, MethodName(request!.Method), request.Path ?? "-", _loggedStatus, _loggedBytes, _loggedCache, Stopwatch.GetElapsedTime(began), _caller));
            }

            ReturnBuffers();
            if (!keepAlive || closeRequested.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    private byte[] Head => _head ??= ArrayPool<byte>.Shared.Rent(_headCapacity);

    private byte[] Out => _out ??= ArrayPool<byte>.Shared.Rent(OutBytes);

    /// <summary>Gives the request's buffers back to the pool; the next request rents them again.</summary>
    private void ReturnBuffers()
    {
        if (_head is not null)
        {
            ArrayPool<byte>.Shared.Return(_head);
            _head = null;
        }

        if (_out is not null)
        {
            ArrayPool<byte>.Shared.Return(_out);
            _out = null;
        }
    }

    /// <summary>
    /// Reads and parses one request head, copies it into <see cref="_head"/> (the summary's header
    /// values are ranges of it) and consumes it from the pipe. Null when the connection ended or
    /// timed out; <c>handOver</c> when the request is not for this server (nothing consumed).
    /// </summary>
    private async ValueTask<(ParseStatus Status, RequestSummary? Request, bool HandOver)?> ReadHeadAsync(System.IO.Pipelines.PipeReader input, CancellationToken closed, CancellationToken closeRequested)
    {
        var limit = _headCapacity;
        var started = false;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(closed, closeRequested);

        // A connection that has not sent its first request yet gets the shorter first-request timeout;
        // an idle one between requests the keep-alive timeout; a head under way the head timeout.
        timeout.CancelAfter(_awaitingFirstRequest ? _limits.FirstRequestTimeout : _limits.KeepAliveTimeout);
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            try
            {
                read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (started && !closed.IsCancellationRequested && !closeRequested.IsCancellationRequested)
                {
                    await SendStatusAsync(408, "request head not received in time"u8.ToArray(), false, null, false).ConfigureAwait(false);
                }

                return null;
            }

            var buffer = read.Buffer;
            if (buffer.IsEmpty && read.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }

            if (!started)
            {
                if (buffer.FirstSpan[0] == 0x16 || buffer.FirstSpan.StartsWith("PRI * HTTP/2"u8))
                {
                    // A TLS handshake or an HTTP/2 preface: Kestrel's own protocol stacks take the connection.
                    input.AdvanceTo(buffer.Start);
                    return (ParseStatus.Complete, null, true);
                }

                started = true;
                _awaitingFirstRequest = false;
                timeout.CancelAfter(_limits.RequestHeadTimeout);
            }

            var length = (int)Math.Min(buffer.Length, limit);
            ReadOnlySpan<byte> span;
            var copied = false;
            if (buffer.FirstSpan.Length >= length)
            {
                span = buffer.FirstSpan[..length];
            }
            else
            {
                // A head straddling pipe segments: heads are small, so copy rather than parse a sequence.
                buffer.Slice(0, length).CopyTo(Head);
                span = Head.AsSpan(0, length);
                copied = true;
            }

            var status = RequestHeadParser.TryParse(span, _limits.MaxRequestLineBytes, _limits.MaxRequestHeaderBytes, _limits.MaxRequestHeaderCount, out var head, out var consumed);
            if (status == ParseStatus.Incomplete)
            {
                if (read.IsCompleted)
                {
                    input.AdvanceTo(buffer.End);
                    return null;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            if (status != ParseStatus.Complete)
            {
                input.AdvanceTo(buffer.End);
                return (status, null, false);
            }

            if (!IsOurs(ref head))
            {
                input.AdvanceTo(buffer.Start);
                return (status, null, true);
            }

            var request = Describe(ref head, span);
            if (!copied)
            {
                span[..consumed].CopyTo(Head);
            }

            input.AdvanceTo(buffer.GetPosition(consumed));
            return (status, request, false);
        }
    }

    private static bool IsOurs(ref RequestHead head) =>
        head.Method == RequestMethod.Options || head.Path.StartsWith("/v/"u8) || head.Path.StartsWith("/s/"u8);

    private async ValueTask<bool> HandleAsync(RequestSummary request)
    {
        var started = Stopwatch.GetTimestamp();
        if (request.HasBody)
        {
            await SendStatusAsync(400, "request bodies are not accepted"u8.ToArray(), request.IsHead, request.AllowOrigin, keepAlive: false).ConfigureAwait(false);
            return false;
        }

        if (request.Method == RequestMethod.Options)
        {
            var n = ResponsePlanner.WritePreflight(Out, request.AllowOrigin, request.KeepAlive, _server.Date.Current);
            if (!await _sender.SendHeadAsync(Out.AsMemory(0, n), more: false, Deadline(started)).ConfigureAwait(false))
            {
                return false;
            }

            Count(204);
            return request.KeepAlive;
        }

        if (request.Method is not (RequestMethod.Get or RequestMethod.Head))
        {
            await SendStatusAsync(405, "only GET, HEAD and OPTIONS are allowed"u8.ToArray(), false, request.AllowOrigin, request.KeepAlive, "Allow: GET, HEAD, OPTIONS\r\n"u8.ToArray()).ConfigureAwait(false);
            return request.KeepAlive;
        }

        if (request.Refused is { } refused)
        {
            await SendStatusAsync(refused.Status, refused.Reason, request.IsHead, request.AllowOrigin, request.KeepAlive).ConfigureAwait(false);
            return request.KeepAlive;
        }

        if (request.Denied is { } denied)
        {
            await SendStatusAsync(403, AccessGate.ReasonBytes(denied), request.IsHead, request.AllowOrigin, request.KeepAlive).ConfigureAwait(false);
            return request.KeepAlive;
        }

        if (request.Path is not null && request.Signed && _server.Control.RefusesNewSessions && AccessGate.StartsSession(request.Path))
        {
            await SendStatusAsync(503, "not taking new sessions: control plane unreachable"u8.ToArray(), request.IsHead, request.AllowOrigin, request.KeepAlive, "Retry-After: 30\r\n"u8.ToArray()).ConfigureAwait(false);
            return request.KeepAlive;
        }

        if (request.Path is null)
        {
            await SendStatusAsync(404, "no such content"u8.ToArray(), request.IsHead, request.AllowOrigin, request.KeepAlive).ConfigureAwait(false);
            return request.KeepAlive;
        }

        var key = KeyHash.Of(request.Path);
        using var lookup = await _server.Cache.LookupAsync(key, request.Path, _connection.ConnectionClosed).ConfigureAwait(false);
        return lookup.Tier switch
        {
            CacheTier.Ram => await ServeFileAsync(request, lookup.Ram!.Memory, CacheTier.Ram, started).ConfigureAwait(false),
            CacheTier.Ssd => await ServeFileAsync(request, lookup.Ssd!, CacheTier.Ssd, started).ConfigureAwait(false),
            _ => await ServeMissAsync(request, lookup, started).ConfigureAwait(false),
        };
    }

    /// <summary>A hit: both tiers hold the body in a file (an SSD object file or a RAM memfd) sent with sendfile.</summary>
    private async ValueTask<bool> ServeFileAsync(RequestSummary request, OpenObject file, CacheTier tier, long started)
    {
        var (plan, deadline) = await SendPlannedHeadAsync(file.Info, request, tier, started, tier == CacheTier.Ram ? CacheStatus.RamHit : CacheStatus.SsdHit).ConfigureAwait(false);
        if (deadline is null
            || (plan.SendBody && !await _sender.SendFileAsync(file.Handle, file.BodyOffset + plan.BodyStart, plan.BodyLength, deadline.Value).ConfigureAwait(false)))
        {
            return false;
        }

        Finish(tier, plan, started);
        return request.KeepAlive;
    }

    /// <summary>Plans the response for <paramref name="info"/> and sends its head; a null deadline means the send failed.</summary>
    private async ValueTask<(ResponsePlan Plan, ResponseDeadline? Deadline)> SendPlannedHeadAsync(ObjectInfo info, RequestSummary request, CacheTier tier, long started, byte[] cacheStatus)
    {
        var plan = ResponsePlanner.Plan(request.Method, Head.AsSpan(request.Range), Head.AsSpan(request.IfNoneMatch), Head.AsSpan(request.IfModifiedSince), Head.AsSpan(request.IfRange), info);
        var headLength = ResponsePlanner.WriteHead(Out, plan, info, request.AllowOrigin, request.KeepAlive, _server.Date.Current, cacheStatus, info.IsImmutable ? null : _server.Gate.Now);
        var deadline = Deadline(started);
        if (!await _sender.SendHeadAsync(Out.AsMemory(0, headLength), more: plan.SendBody, deadline).ConfigureAwait(false))
        {
            return (plan, null);
        }

        _server.Metrics.TimeToFirstByte.WithLabels(AccessLogFormat.CacheLabel(tier)).Observe(Elapsed(started));
        return (plan, deadline);
    }

    private async ValueTask<bool> ServeMissAsync(RequestSummary request, CacheLookup lookup, long started)
    {
        var fetch = lookup.Fetch!;
        var (outcome, head) = await fetch.HeadTask.WaitAsync(_connection.ConnectionClosed).ConfigureAwait(false);
        var cacheStatus = CacheStatus.For(CacheTier.Miss, lookup.Join, outcome);
        if (outcome != Upstream.FetchOutcome.Ok)
        {
            var (status, message) = outcome switch
            {
                Upstream.FetchOutcome.NotFound => (404, "no such content"u8.ToArray()),
                Upstream.FetchOutcome.Gone => (410, "this title was taken down at the origin"u8.ToArray()),
                Upstream.FetchOutcome.GatewayTimeout => (504, "no parent answered in time"u8.ToArray()),
                Upstream.FetchOutcome.TooLarge => (502, "object too large to cache"u8.ToArray()),
                Upstream.FetchOutcome.Overloaded => (503, "too many objects being fetched from the parents; retry shortly"u8.ToArray()),
                Upstream.FetchOutcome.IntegrityRefused => (502, Encoding.ASCII.GetBytes($"refused by the integrity check: {fetch.Refusal?.Reason}")),
                _ => (502, "no parent could provide the object"u8.ToArray()),
            };
            var headers = outcome == Upstream.FetchOutcome.Overloaded ? CacheStatus.FetchLimitHeaders : cacheStatus;
            _loggedCache = "miss";
            await SendStatusAsync(status, message, request.IsHead, request.AllowOrigin, request.KeepAlive, headers).ConfigureAwait(false);
            _server.Metrics.Requests.WithLabels("miss").Inc();
            return request.KeepAlive;
        }

        var info = ObjectInfo.FromHead(fetch.Path, head!, _server.Gate.Now);
        var (plan, deadline) = await SendPlannedHeadAsync(info, request, CacheTier.Miss, started, cacheStatus).ConfigureAwait(false);
        if (deadline is not { } due)
        {
            return false;
        }

        if (plan.SendBody)
        {
            // Cut-through: send each window of the body as soon as the parent delivered it. Time spent
            // waiting for the parent moves the client's deadline: only the client's own reading counts.
            var position = plan.BodyStart;
            var end = plan.BodyStart + plan.BodyLength;
            while (position < end)
            {
                var waitStarted = Stopwatch.GetTimestamp();
                var filled = await fetch.WaitSendableAsync(position, _connection.ConnectionClosed).ConfigureAwait(false);
                due = due.After(Stopwatch.GetTimestamp() - waitStarted);
                if (filled <= position)
                {
                    // The parent failed part-way or the body failed verification: cut the connection
                    // so the client never holds a complete response with wrong bytes.
                    return false;
                }

                var upTo = Math.Min(filled, end);
                if (!await _sender.SendMemoryAsync(fetch.Body.AsMemory((int)position, (int)(upTo - position)), position - plan.BodyStart, due).ConfigureAwait(false))
                {
                    return false;
                }

                position = upTo;
            }
        }

        Finish(CacheTier.Miss, plan, started);
        return request.KeepAlive;
    }

    /// <summary>What the response needs from the head, taken while the head is parsed (once per request).</summary>
    private RequestSummary Describe(ref RequestHead head, ReadOnlySpan<byte> source)
    {
        string? path = null;
        TokenCheck? denied = null;
        (int, byte[])? refused = null;
        var signed = head.Path.StartsWith("/s/"u8);
        var content = signed || head.Path.StartsWith("/v/"u8);
        if (content && _onParentListener && _server.Gate.RefuseParentPull(signed, _parentCertificate) is { } refusal)
        {
            refused = (refusal.Status, Encoding.UTF8.GetBytes(refusal.Reason));
        }
        else if (content && head.Path.Length <= MaxTargetLength)
        {
            UseCurrentAccess();
            Span<char> chars = stackalloc char[head.Path.Length];
            Encoding.ASCII.GetChars(head.Path, chars);
            ReadOnlySpan<char> contentPath = chars;
            if (signed)
            {
                var check = CheckToken(chars, out contentPath);
                denied = check == TokenCheck.Valid ? null : check;
            }
            else if (!_unsignedAllowed)
            {
                denied = TokenCheck.Missing;
            }

            if (denied is null && ContentKey.TryParse(contentPath, out var key))
            {
                path = key.Path;
                // A segment read counts toward the title's rendition mix (playlists do not: players read several
                // while choosing; a peer's pull on the parent listener is its players' demand, not ours).
                if (key.Rendition is { } rendition && head.Method == RequestMethod.Get && !_onParentListener && !key.FileName.EndsWith(".m3u8", StringComparison.Ordinal))
                {
                    _server.Demand.Record(key.TitleId, rendition);
                }
            }
        }

        var traced = RoleTracing.Source.HasListeners();
        return new RequestSummary(head.Method, head.KeepAlive, head.HasBody, path, _server.Cors.AllowOriginFor(head.Origin))
        {
            Denied = denied,
            Refused = refused,
            Signed = signed,
            Range = RangeOf(source, head.Range),
            IfNoneMatch = RangeOf(source, head.IfNoneMatch),
            IfModifiedSince = RangeOf(source, head.IfModifiedSince),
            IfRange = RangeOf(source, head.IfRange),
            Traceparent = traced ? RangeOf(source, head.Traceparent) : default,
            Tracestate = traced ? RangeOf(source, head.Tracestate) : default,
        };
    }

    /// <summary>
    /// Takes the gate's current access rules when a reload replaced them since this connection's last
    /// request: whether it may fetch unsigned <c>/v/…</c> is decided again (on the parent listener always:
    /// its fleet certificate is checked per request; elsewhere when the client's address is in
    /// <c>Appliance:UnsignedNetworks</c>), and a grant verified under the old keys is checked again.
    /// </summary>
    private void UseCurrentAccess()
    {
        var access = _server.Gate.Access;
        if (ReferenceEquals(access, _access))
        {
            return;
        }

        _access = access;
        _unsignedAllowed = _onParentListener || access.AllowsUnsigned(_client);
        _grant = null;
    }

    /// <summary>Verifies the token of <c>/s/{token}/v/…</c>, reusing this connection's last verified grant when it covers the path.</summary>
    private TokenCheck CheckToken(ReadOnlySpan<char> path, out ReadOnlySpan<char> content)
    {
        if (!UrlToken.TrySplitSignedPath(path, out var token, out content))
        {
            return TokenCheck.Malformed;
        }

        var now = _server.Gate.Now;
        if (_grant is not null && token.SequenceEqual(_grantToken) && now < _grant.Expires && content.StartsWith(_grant.PathPrefix, StringComparison.Ordinal))
        {
            return TokenCheck.Valid;
        }

        var check = UrlToken.Verify(token, _server.Gate.Access.Keys, _server.Gate.Access.MacKeys, now, content, _client);
        if (check == TokenCheck.Valid)
        {
            _grantToken = token.ToString();
            _grant = UrlToken.Peek(token);
        }

        return check;
    }

    /// <summary>Where a header value lies in the head, so it can be read back from <see cref="_head"/>.</summary>
    private static Range RangeOf(ReadOnlySpan<byte> source, ReadOnlySpan<byte> value) =>
        !value.IsEmpty && source.Overlaps(value, out var offset) ? new Range(offset, offset + value.Length) : default;

    private void Finish(CacheTier tier, ResponsePlan plan, long started)
    {
        var metrics = _server.Metrics;
        var label = AccessLogFormat.CacheLabel(tier);
        var bytes = plan.SendBody ? plan.BodyLength : 0;
        _loggedBytes = bytes;
        _loggedCache = label;
        metrics.Requests.WithLabels(label).Inc();
        metrics.ResponseBytes.WithLabels(label).Inc(bytes);
        metrics.TotalTime.WithLabels(label).Observe(Elapsed(started));
        Count(plan.Status);
    }

    private void Count(int status)
    {
        _loggedStatus = status;
        _server.Metrics.Responses.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
    }

    private static string MethodName(RequestMethod method) => method switch
    {
        RequestMethod.Get => "GET",
        RequestMethod.Head => "HEAD",
        RequestMethod.Options => "OPTIONS",
        _ => "OTHER",
    };

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;

    /// <summary>When the response must be done for a client reading at the minimum rate (plus grace).</summary>
    private ResponseDeadline Deadline(long started) => new(started, _limits.MinResponseRateGrace, _limits.MinResponseBytesPerSecond);

    private async ValueTask SendStatusAsync(int status, byte[] message, bool isHead, string? allowOrigin, bool keepAlive, byte[]? extraHeaders = null)
    {
        var n = ResponsePlanner.WriteStatus(Out, status, message, isHead, allowOrigin, keepAlive, _server.Date.Current, extraHeaders);
        await _sender.SendHeadAsync(Out.AsMemory(0, n), more: false, new ResponseDeadline(Stopwatch.GetTimestamp(), _limits.MinResponseRateGrace, 0)).ConfigureAwait(false);
        Count(status);
    }

    private static int StatusFor(ParseStatus status) => status switch
    {
        ParseStatus.UriTooLong => 414,
        ParseStatus.HeadersTooLarge => 431,
        ParseStatus.VersionNotSupported => 505,
        _ => 400,
    };

    private static byte[] MessageFor(ParseStatus status) => status switch
    {
        ParseStatus.UriTooLong => "request line too long"u8.ToArray(),
        ParseStatus.HeadersTooLarge => "request header fields too large"u8.ToArray(),
        ParseStatus.VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are supported"u8.ToArray(),
        _ => "malformed request"u8.ToArray(),
    };
}
