using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// The TUS 1.0.0 server at <c>/files/</c>: core protocol plus creation, creation-with-upload,
/// creation-defer-length, expiration, checksum (sha1, sha256), termination and concatenation.
/// This file dispatches and answers OPTIONS, HEAD and DELETE; creation and PATCH live in their own
/// partial files. Errors are JSON <c>{"error": "..."}</c> with the status the protocol names.
/// </summary>
public sealed partial class TusEndpoint(
    IUploadStore store,
    UploadCompletion completion,
    UploadQuotas quotas,
    UploadRateLimiter rateLimiter,
    IOptions<OriginOptions> options,
    TimeProvider time,
    IngestMetrics metrics,
    IHostApplicationLifetime lifetime,
    Catalog.Accounts.IAccessTokens accessTokens,
    ILogger<TusEndpoint> logger)
{
    public const string Version = "1.0.0";
    public const string Extensions = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation,concatenation-unfinished";

    /// <summary>What a store without concatenation (the shared store) offers.</summary>
    public const string ExtensionsWithoutConcatenation = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination";
    public const string ChecksumAlgorithms = "sha1,sha256";
    public const string OffsetOctetStream = "application/offset+octet-stream";

    /// <summary>Response headers carrying the pipeline's answer for a completed upload.</summary>
    public const string TitleIdHeader = "Upload-Title-Id";
    public const string StateHeader = "Upload-State";
    public const string ReasonHeader = "Upload-Reason";

    private const string ExposedHeaders = "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Concat, Upload-Expires, Upload-Title-Id, Upload-State, Upload-Reason, Retry-After";
    private const string AllowedRequestHeaders = "Authorization, Content-Type, Tus-Resumable, Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Concat, Upload-Checksum, X-HTTP-Method-Override, X-Requested-With";

    private readonly IngestOptions _options = options.Value.Ingest;
    private readonly SemaphoreSlim _creation = new(1, 1);

    public async Task HandleAsync(HttpContext context, string? id)
    {
        var request = context.Request;
        var response = context.Response;
        var method = request.Method;
        if (HttpMethods.IsPost(method) && request.Headers.TryGetValue("X-HTTP-Method-Override", out var overridden) && overridden.Count == 1)
        {
            method = overridden[0]!.ToUpperInvariant();
        }

        ApplyCors(context);
        if (!rateLimiter.TryAcquireAddress(context, out var addressRetry))
        {
            await TooManyRequestsAsync(context, addressRetry, "too many upload requests from this address", method);
            return;
        }

        if (HttpMethods.IsOptions(method))
        {
            AnswerOptions(context);
            return;
        }

        response.Headers["Tus-Resumable"] = Version;
        if (request.Headers["Tus-Resumable"] != Version)
        {
            response.Headers["Tus-Version"] = Version;
            await ErrorAsync(context, StatusCodes.Status412PreconditionFailed, $"Tus-Resumable must be {Version}", method);
            return;
        }

        if (id is null && !HttpMethods.IsPost(method))
        {
            response.Headers.Allow = "POST, OPTIONS";
            await ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, $"{method} is not allowed on the upload collection", method);
            return;
        }

        try
        {
            await (id is null ? CreateAsync(context) : HandleUploadAsync(context, id, method));
        }
        catch (UploadStoreException ex) when (!response.HasStarted)
        {
            // The shared store's database or bucket did not answer (503, clients retry), or the offset moved on another instance (409).
            IngestLog.StoreUnavailable(logger, id ?? "(new)", ex);
            await ErrorAsync(context, ex.Status, ex.Message, method);
        }
    }

    private async Task HandleUploadAsync(HttpContext context, string id, string method)
    {
        var response = context.Response;
        if (!UploadIds.IsValid(id) || await store.FindAsync(id, context.RequestAborted) is not { } entry)
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, "no such upload", method);
            return;
        }

        if (entry.Current.UploaderId is { } uploader && !rateLimiter.TryAcquireUploader(uploader, out var uploaderRetry))
        {
            await TooManyRequestsAsync(context, uploaderRetry, "too many upload requests for this uploader", method);
            return;
        }

        if (IsGone(entry.Current))
        {
            await ErrorAsync(context, StatusCodes.Status410Gone, "the upload expired and its data was deleted", method);
            return;
        }

        switch (method)
        {
            case "HEAD":
                AnswerHead(context, entry.Current);
                return;
            case "PATCH":
                await PatchAsync(context, entry);
                return;
            case "DELETE":
                await DeleteAsync(context, entry);
                return;
            default:
                response.Headers.Allow = "HEAD, PATCH, DELETE, OPTIONS";
                await ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, $"{method} is not allowed on an upload", method);
                return;
        }
    }

    /// <summary>Expired (swept or past its deadline while incomplete).</summary>
    private bool IsGone(UploadRecord record) => record.IsGoneAt(time.GetUtcNow());

    private void AnswerOptions(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers["Tus-Version"] = Version;
        headers["Tus-Extension"] = store.SupportsConcatenation ? Extensions : ExtensionsWithoutConcatenation;
        headers["Tus-Max-Size"] = _options.MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["Tus-Checksum-Algorithm"] = ChecksumAlgorithms;
        if (context.Request.Headers.ContainsKey("Access-Control-Request-Method") && headers.ContainsKey("Access-Control-Allow-Origin"))
        {
            headers["Access-Control-Allow-Methods"] = "POST, HEAD, PATCH, DELETE, OPTIONS";
            headers["Access-Control-Allow-Headers"] = AllowedRequestHeaders;
            headers["Access-Control-Max-Age"] = "86400";
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private void AnswerHead(HttpContext context, UploadRecord record)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        // A final upload has no offset until every part is in (concatenation-unfinished).
        if (!record.IsFinal || record.IsComplete)
        {
            response.Headers["Upload-Offset"] = Invariant(record.Offset);
        }

        if (record.Length is { } length)
        {
            response.Headers["Upload-Length"] = Invariant(length);
        }
        else if (!record.IsFinal)
        {
            response.Headers["Upload-Defer-Length"] = "1";
        }

        WriteUploadHeaders(context, record);
        response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>Metadata, concatenation, expiry and the pipeline's answer: on HEAD, POST and PATCH responses.</summary>
    private void WriteUploadHeaders(HttpContext context, UploadRecord record)
    {
        var headers = context.Response.Headers;
        if (!string.IsNullOrEmpty(record.MetadataHeader))
        {
            headers["Upload-Metadata"] = record.MetadataHeader;
        }

        if (record.IsPartial)
        {
            headers["Upload-Concat"] = "partial";
        }
        else if (record.IsFinal)
        {
            headers["Upload-Concat"] = "final;" + string.Join(' ', record.Parts.Select(p => UploadPath(context, p)));
        }

        if (record.State == UploadStates.Uploading)
        {
            headers["Upload-Expires"] = record.ExpiresAt.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        }

        headers[StateHeader] = record.State;
        if (record.TitleId is not null)
        {
            headers[TitleIdHeader] = record.TitleId;
        }

        if (record.Reason is not null)
        {
            headers[ReasonHeader] = AsciiHeaderValue(record.Reason);
        }
    }

    private async Task DeleteAsync(HttpContext context, UploadEntry entry)
    {
        await using var held = await store.TryLockAsync(entry);
        if (held is null)
        {
            await ErrorAsync(context, StatusCodes.Status423Locked, "the upload is being written by another request; retry later", "DELETE");
            return;
        }

        var state = entry.Current.State;
        if (state is not (UploadStates.Uploading or UploadStates.Complete or UploadStates.Delayed or UploadStates.Rejected or UploadStates.Concatenated))
        {
            await ErrorAsync(context, StatusCodes.Status409Conflict, $"the upload was handed to the pipeline (state {state}); delete the title instead", "DELETE");
            return;
        }

        await store.DeleteAsync(entry.Current.Id);
        completion.UpdateDelayedGauge();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private void ApplyCors(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || _options.CorsOrigins.Length == 0)
        {
            return;
        }

        var allowed = false;
        foreach (var candidate in _options.CorsOrigins)
        {
            if (candidate == "*" || string.Equals(candidate, origin, StringComparison.OrdinalIgnoreCase))
            {
                allowed = true;
                break;
            }
        }

        context.Response.Headers.Vary = "Origin";
        if (allowed)
        {
            context.Response.Headers.AccessControlAllowOrigin = origin;
            context.Response.Headers.AccessControlExposeHeaders = ExposedHeaders;
        }
    }

    private static string UploadPath(HttpContext context, string id) => $"{context.Request.PathBase}/files/{id}";

    private static string Invariant(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Header values must be ASCII: anything else becomes '?'; the status API carries the exact text.</summary>
    private static string AsciiHeaderValue(string text)
    {
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = c is >= ' ' and <= '~' ? c : '?';
            }
        });
    }

    /// <summary>429 with <c>Retry-After</c> (whole seconds, at least 1).</summary>
    private Task TooManyRequestsAsync(HttpContext context, TimeSpan retryAfter, string what, string method)
    {
        metrics.Rejected.WithLabels("rate").Inc();
        var seconds = SetRetryAfter(context, retryAfter);
        return ErrorAsync(context, StatusCodes.Status429TooManyRequests, $"{what}; retry after {seconds} s", method);
    }

    /// <summary>Sets <c>Retry-After</c> in whole seconds, at least 1; returns them.</summary>
    private static long SetRetryAfter(HttpContext context, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = Invariant(seconds);
        return seconds;
    }

    /// <summary>A quota refusal: its status, <c>Retry-After</c> when known, and its message.</summary>
    private Task RefuseAsync(HttpContext context, QuotaRefusal refusal, string method)
    {
        metrics.Rejected.WithLabels("quota").Inc();
        if (refusal.RetryAfter is { } retryAfter)
        {
            SetRetryAfter(context, retryAfter);
        }

        return ErrorAsync(context, refusal.Status, refusal.Message, method);
    }

    private static Task ErrorAsync(HttpContext context, int status, string message, string method)
    {
        context.Response.StatusCode = status;
        if (HttpMethods.IsHead(method) || HttpMethods.IsHead(context.Request.Method))
        {
            return Task.CompletedTask;
        }

        return context.Response.WriteAsJsonAsync(new ErrorBody(message), context.RequestAborted);
    }

    private sealed record ErrorBody(string Error);
}
