using System.Globalization;

namespace OpenConnect.Origin.Ingest;

/// <summary>Creation (POST /files/): plain, deferred-length, with an initial body, partial and final (concatenation).</summary>
public sealed partial class TusEndpoint
{
    private async Task CreateAsync(HttpContext context)
    {
        var request = context.Request;
        if (completion.IntakeMissing)
        {
            IngestLog.NoIntake(logger);
            await ErrorAsync(context, StatusCodes.Status500InternalServerError, "the origin has no pipeline intake: completed uploads could not be processed", "POST");
            return;
        }

        string? uploaderId = null;
        if (_options.RequireToken)
        {
            var authorization = request.Headers.Authorization.ToString();
            var grant = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                ? await accessTokens.ValidateAsync(authorization["Bearer ".Length..].Trim(), context.RequestAborted)
                : null;
            if (grant is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await ErrorAsync(context, StatusCodes.Status401Unauthorized, "uploading needs an uploader's bearer token (POST /api/v1/auth/login)", "POST");
                return;
            }

            if (!grant.Has(Catalog.Accounts.UserRole.Uploader))
            {
                await ErrorAsync(context, StatusCodes.Status403Forbidden, $"user '{grant.Name}' is a {Catalog.Accounts.UserRoles.ToWire(grant.Role)}; uploading needs the uploader role", "POST");
                return;
            }

            uploaderId = grant.UserId;
            if (!rateLimiter.TryAcquireUploader(uploaderId, out var retryAfter))
            {
                await TooManyRequestsAsync(context, retryAfter, "too many upload requests for this uploader", "POST");
                return;
            }
        }

        var metadataHeader = request.Headers["Upload-Metadata"].ToString();
        if (metadataHeader.Length > _options.MaxMetadataBytes)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"Upload-Metadata is longer than {_options.MaxMetadataBytes} bytes", "POST");
            return;
        }

        var metadataError = UploadMetadata.TryParse(metadataHeader, out var metadata);
        if (metadataError is not null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, metadataError, "POST");
            return;
        }

        // The uploader is who the token says, never what the client writes in its metadata.
        metadata.Remove(CatalogSync.UploaderKey);
        if (uploaderId is not null)
        {
            metadata[CatalogSync.UploaderKey] = uploaderId;
        }

        var concatHeader = request.Headers["Upload-Concat"].ToString();
        var concat = concatHeader switch
        {
            "" => ConcatKind.None,
            "partial" => ConcatKind.Partial,
            _ when concatHeader.StartsWith("final;", StringComparison.Ordinal) => ConcatKind.Final,
            _ => null,
        };
        if (concat is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Concat must be 'partial' or 'final;URL URL…'", "POST");
            return;
        }

        if (concat != ConcatKind.None && !store.SupportsConcatenation)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "this origin keeps uploads in shared storage, which does not offer concatenation (parallel uploads): upload the file as one upload", "POST");
            return;
        }

        long? length = null;
        IReadOnlyList<string> parts = [];
        if (concat == ConcatKind.Final)
        {
            if (request.Headers.ContainsKey("Upload-Length") || request.Headers.ContainsKey("Upload-Defer-Length"))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "a final upload takes its length from its parts: send neither Upload-Length nor Upload-Defer-Length", "POST");
                return;
            }

            var (partIds, partsError, partsLength) = await ResolvePartsAsync(concatHeader["final;".Length..], context.RequestAborted);
            if (partsError is not null)
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, partsError, "POST");
                return;
            }

            if (partsLength > _options.MaxUploadBytes)
            {
                await ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"the parts add up to more than Tus-Max-Size {_options.MaxUploadBytes}", "POST");
                return;
            }

            parts = partIds;
            length = partsLength;
        }
        else
        {
            var hasLength = request.Headers.TryGetValue("Upload-Length", out var lengthHeader);
            var deferred = request.Headers["Upload-Defer-Length"].ToString();
            if (hasLength == (deferred.Length > 0))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "send exactly one of Upload-Length and Upload-Defer-Length: 1", "POST");
                return;
            }

            if (!hasLength && deferred != "1")
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Defer-Length must be 1", "POST");
                return;
            }

            if (hasLength)
            {
                if (!TryParseNonNegative(lengthHeader.ToString(), out var parsed))
                {
                    await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Length must be a non-negative integer", "POST");
                    return;
                }

                if (parsed > _options.MaxUploadBytes)
                {
                    await ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"Upload-Length {parsed} is over Tus-Max-Size {_options.MaxUploadBytes}", "POST");
                    return;
                }

                length = parsed;
            }
        }

        if (!_options.DelayWhenBacklogged && completion.IsBacklogged(out var backlog))
        {
            metrics.Rejected.WithLabels("backlog").Inc();
            context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, $"the transcode pipeline is busy ({backlog} titles waiting, limit {_options.MaxBacklog}); retry after {_options.RetryAfterSeconds} s", "POST");
            return;
        }

        // Checked and created under one lock, so concurrent creations of one uploader cannot both
        // take the last slot of a quota.
        QuotaRefusal? refusal;
        UploadEntry entry = null!;
        UploadRecord record = null!;
        await _creation.WaitAsync(context.RequestAborted);
        try
        {
            refusal = uploaderId is null ? null : quotas.CheckCreation(uploaderId, concat, length);
            if (refusal is null)
            {
                (entry, record) = await CreateRecordAsync(metadataHeader, metadata, concat, length, parts, context.RequestAborted);
            }
        }
        finally
        {
            _creation.Release();
        }

        if (refusal is not null)
        {
            await RefuseAsync(context, refusal, "POST");
            return;
        }

        metrics.Created.WithLabels(concat).Inc();
        IngestLog.Created(logger, record.Id, length, concat);
        context.Response.Headers.Location = UploadPath(context, record.Id);

        if (concat == ConcatKind.Final)
        {
            await completion.TryAssembleAsync(entry, lifetime.ApplicationStopping);
            WriteUploadHeaders(context, entry.Current);
            context.Response.StatusCode = StatusCodes.Status201Created;
            return;
        }

        await using (await store.LockAsync(entry, context.RequestAborted))
        {
            var status = StatusCodes.Status201Created;
            string? error = null;
            if (IsOffsetOctetStream(request.ContentType) && (request.ContentLength > 0 || request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
            {
                (status, error) = await AppendAsync(context, entry, newLength: null);
                if (status == StatusCodes.Status204NoContent)
                {
                    status = StatusCodes.Status201Created;
                }
            }
            else if (record.IsComplete)
            {
                await completion.OnCompletedAsync(entry, lifetime.ApplicationStopping);
            }

            context.Response.Headers["Upload-Offset"] = Invariant(entry.Current.Offset);
            WriteUploadHeaders(context, entry.Current);
            if (error is not null)
            {
                await ErrorAsync(context, status, error, "POST");
                return;
            }

            context.Response.StatusCode = status;
        }
    }

    /// <summary>
    /// Persists a new upload. One that receives no byte within <c>AbandonAfter</c> expires then
    /// (the first byte moves its expiry to <c>Expiration</c> after the last write); a final upload
    /// has no bytes of its own and lives for <c>Expiration</c>.
    /// </summary>
    private async Task<(UploadEntry Entry, UploadRecord Record)> CreateRecordAsync(string metadataHeader, Dictionary<string, string> metadata, string concat, long? length, IReadOnlyList<string> parts, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lifetime = concat == ConcatKind.Final || _options.AbandonAfter > _options.Expiration ? _options.Expiration : _options.AbandonAfter;
        var record = new UploadRecord
        {
            Id = UploadIds.NewId(),
            Length = length,
            MetadataHeader = metadataHeader.Length == 0 ? null : metadataHeader,
            Metadata = metadata,
            Concat = concat,
            Parts = parts,
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        };
        return (await store.CreateAsync(record, cancellationToken), record);
    }

    /// <summary>Parses the URL list of a final upload into part ids and their total length (null when one is still deferred).</summary>
    private async Task<(List<string> Ids, string? Error, long? Length)> ResolvePartsAsync(string urls, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        long? total = 0;
        foreach (var url in urls.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath : url;
            var slash = path.LastIndexOf('/');
            var id = path[(slash + 1)..];
            if (!path[..(slash + 1)].EndsWith("/files/", StringComparison.Ordinal) || !UploadIds.IsValid(id) || await store.FindAsync(id, cancellationToken) is not { } part)
            {
                return (ids, $"Upload-Concat names '{url}', which is not an upload of this server", null);
            }

            var record = part.Current;
            if (!record.IsPartial)
            {
                return (ids, $"Upload-Concat names '{url}', which is not a partial upload", null);
            }

            if (IsGone(record) || record.State == UploadStates.Concatenated || ids.Contains(id))
            {
                return (ids, $"Upload-Concat names '{url}', which expired, was already concatenated or is listed twice", null);
            }

            ids.Add(id);
            total = record.Length is { } partLength && total is { } sum ? sum + partLength : null;
        }

        return ids.Count == 0 ? (ids, "Upload-Concat: final needs at least one partial upload URL", null) : (ids, null, total);
    }

    private static bool IsOffsetOctetStream(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals(OffsetOctetStream, StringComparison.OrdinalIgnoreCase);

    private static bool TryParseNonNegative(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
