using System.Buffers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using OpenConnect.Origin.Catalog.Accounts;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// PATCH: appends a chunk at the committed offset. The body is copied through two pooled buffers
/// straight into the body file past the committed offset; the offset only moves (info file
/// replaced) once the bytes are written (and synced, with SyncOnCommit or for the last chunk) and,
/// with <c>Upload-Checksum</c>, the digest matched. A
/// mismatch, an over-long body or a cut checksummed chunk is cut off again, so the offset stays put;
/// a cut body without a checksum keeps what arrived.
/// </summary>
public sealed partial class TusEndpoint
{
    private async Task PatchAsync(HttpContext context, UploadEntry entry)
    {
        var request = context.Request;
        if (!IsOffsetOctetStream(request.ContentType))
        {
            await ErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, $"PATCH needs Content-Type: {OffsetOctetStream}", "PATCH");
            return;
        }

        if (!TryParseNonNegative(request.Headers["Upload-Offset"].ToString(), out var offset))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Offset must be a non-negative integer", "PATCH");
            return;
        }

        if (entry.Current.IsFinal)
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, "a final upload is built from its parts and cannot be patched", "PATCH");
            return;
        }

        // The upload URL is a capability, but only while its owner may still upload: an admin who
        // revokes the uploader role stops the uploads under way too.
        if (_options.RequireToken && entry.Current.UploaderId is { } uploader
            && await accessTokens.RoleOfAsync(uploader, context.RequestAborted) is not (UserRole.Uploader or UserRole.Admin))
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, "this account may no longer upload (it is not an uploader any more)", "PATCH");
            return;
        }

        long? newLength = null;
        if (request.Headers.TryGetValue("Upload-Length", out var lengthHeader))
        {
            if (!TryParseNonNegative(lengthHeader.ToString(), out var parsed))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "Upload-Length must be a non-negative integer", "PATCH");
                return;
            }

            newLength = parsed;
        }

        await using var held = await store.TryLockAsync(entry);
        if (held is null)
        {
            // Documented: one writer per upload; tus clients retry 423.
            await ErrorAsync(context, StatusCodes.Status423Locked, "another request is writing this upload; retry later", "PATCH");
            return;
        }

        var record = entry.Current;
        if (IsGone(record))
        {
            await ErrorAsync(context, StatusCodes.Status410Gone, "the upload expired and its data was deleted", "PATCH");
            return;
        }

        if (offset != record.Offset)
        {
            context.Response.Headers["Upload-Offset"] = Invariant(record.Offset);
            await ErrorAsync(context, StatusCodes.Status409Conflict, $"Upload-Offset {offset} does not match the upload's offset {record.Offset}", "PATCH");
            return;
        }

        var (status, error) = await AppendAsync(context, entry, newLength);
        context.Response.Headers["Upload-Offset"] = Invariant(entry.Current.Offset);
        WriteUploadHeaders(context, entry.Current);
        if (error is not null)
        {
            await ErrorAsync(context, status, error, "PATCH");
            return;
        }

        context.Response.StatusCode = status;
    }

    /// <summary>Receives the request body at the upload's offset; the caller holds the gate. Returns 204 or an error status with its message.</summary>
    private async Task<(int Status, string? Error)> AppendAsync(HttpContext context, UploadEntry entry, long? newLength)
    {
        var record = entry.Current;
        var request = context.Request;
        if (record.State != UploadStates.Uploading)
        {
            return request.ContentLength is null or 0
                ? (StatusCodes.Status204NoContent, null)
                : (StatusCodes.Status413PayloadTooLarge, "the upload is already complete");
        }

        if (newLength is { } declared)
        {
            if (record.Length is { } known && known != declared)
            {
                return (StatusCodes.Status400BadRequest, $"Upload-Length {declared} contradicts the upload's length {known}");
            }

            if (declared > _options.MaxUploadBytes)
            {
                return (StatusCodes.Status413PayloadTooLarge, $"Upload-Length {declared} is over Tus-Max-Size {_options.MaxUploadBytes}");
            }

            if (declared < record.Offset)
            {
                return (StatusCodes.Status400BadRequest, $"Upload-Length {declared} is below the bytes already received ({record.Offset})");
            }

            if (record.Length is null && quotas.CheckDeclaredLength(record, declared) is { } refusal)
            {
                metrics.Rejected.WithLabels("quota").Inc();
                return (refusal.Status, refusal.Message);
            }
        }

        var length = record.Length ?? newLength;

        // A deferred length grows no further than Tus-Max-Size and the uploader's bytes in flight.
        var cap = length ?? quotas.DeferredLengthCap(record);
        var room = cap - record.Offset;
        if (request.ContentLength > room)
        {
            return (StatusCodes.Status413PayloadTooLarge, length is not null
                ? $"the chunk would take the upload past its Upload-Length {length}"
                : cap < _options.MaxUploadBytes
                    ? $"the chunk would take this uploader's unfinished uploads over the limit of {_options.MaxBytesInFlightPerUploader} bytes in flight per uploader"
                    : $"the chunk would take the upload over Tus-Max-Size {_options.MaxUploadBytes}");
        }

        IncrementalHash? hash = null;
        byte[]? expectedDigest = null;
        var checksum = request.Headers["Upload-Checksum"].ToString();
        if (checksum.Length > 0)
        {
            var error = ParseChecksum(checksum, out hash, out expectedDigest);
            if (error is not null)
            {
                return (StatusCodes.Status400BadRequest, error);
            }
        }

        using var _ = hash;
        LiftBodyLimits(context);

        // Without a checksum a store that writes in parts commits each one as it is durable (a
        // crash keeps them, as the page cache keeps a local file's bytes); a checksummed chunk is
        // only committed whole, once its digest matched.
        Func<long, UploadRecord>? commitEachPart = hash is null
            ? newOffset => entry.Current with { Offset = newOffset, Length = length, ExpiresAt = time.GetUtcNow() + _options.Expiration }
            : null;
        await using var writer = await store.OpenWriterAsync(entry, commitEachPart, context.RequestAborted);
        var received = await ReceiveAsync(context, writer, room, hash);
        if (received.TooLarge)
        {
            await writer.DiscardAsync();
            return (StatusCodes.Status413PayloadTooLarge, "the chunk would take the upload past its length");
        }

        if (hash is not null)
        {
            if (received.Interrupted is not null)
            {
                await writer.DiscardAsync();
                IngestLog.Interrupted(logger, record.Id, received.Bytes, "checksummed chunk discarded");
                return (StatusCodes.Status400BadRequest, "the chunk was cut short");
            }

            if (!CryptographicOperations.FixedTimeEquals(hash.GetHashAndReset(), expectedDigest))
            {
                await writer.DiscardAsync();
                metrics.ChecksumMismatches.Inc();
                return (460, "Upload-Checksum does not match the chunk; it was discarded");
            }
        }

        var completes = (length ?? -1) == record.Offset + received.Bytes;
        var sync = _options.SyncOnCommit || completes;
        await writer.FinishAsync(sync, completes);

        var committed = entry.Current with
        {
            Offset = record.Offset + received.Bytes,
            Length = length,

            // Only bytes keep an upload alive: empty PATCHes do not hold an abandoned one past its expiry.
            ExpiresAt = received.Bytes > 0 ? time.GetUtcNow() + _options.Expiration : entry.Current.ExpiresAt,
        };
        if (!await store.CommitAsync(entry, committed, sync))
        {
            // Only possible when another instance moved the offset under us (its lock lost): never both advance.
            return (StatusCodes.Status409Conflict, $"the upload's offset moved to {entry.Current.Offset} while this chunk was written; resume from there");
        }

        metrics.BytesReceived.Inc(received.Bytes);
        if (received.Interrupted is not null)
        {
            IngestLog.Interrupted(logger, record.Id, received.Bytes, "received bytes kept");
            return (StatusCodes.Status400BadRequest, "the chunk was cut short; the bytes received were kept");
        }

        if (committed.IsComplete)
        {
            await completion.OnCompletedAsync(entry, lifetime.ApplicationStopping);
        }

        return (StatusCodes.Status204NoContent, null);
    }

    private readonly record struct Received(long Bytes, bool TooLarge, Exception? Interrupted);

    /// <summary>
    /// Copies the request body into the body file at the committed offset through two pooled
    /// buffers: while one is written (on the thread pool), the next is filled from the socket. Every
    /// path out waits for the write in flight, so the byte count returned is what is on disk.
    /// </summary>
    private async Task<Received> ReceiveAsync(HttpContext context, IUploadBodyWriter writer, long room, IncrementalHash? hash)
    {
        var current = ArrayPool<byte>.Shared.Rent(_options.WriteBufferBytes);
        var spare = ArrayPool<byte>.Shared.Rent(_options.WriteBufferBytes);
        var body = context.Request.Body;
        long written = 0;
        var filled = 0;
        var pending = ValueTask.CompletedTask;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    // No RequestAborted token: when the client goes away, the bytes Kestrel already
                    // buffered are still read (and kept) before the read fails; a stalled client is
                    // cut off by the minimum data rate.
                    read = await body.ReadAsync(current.AsMemory(filled, current.Length - filled), CancellationToken.None);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    await FlushAsync();
                    await pending;
                    return new Received(written, false, ex);
                }

                if (read == 0)
                {
                    await FlushAsync();
                    await pending;
                    return new Received(written, false, null);
                }

                if (written + filled + read > room)
                {
                    await pending;
                    return new Received(written, true, null);
                }

                filled += read;
                if (filled == current.Length)
                {
                    await FlushAsync();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(spare);
        }

        async ValueTask FlushAsync()
        {
            if (filled == 0)
            {
                return;
            }

            await pending;
            hash?.AppendData(current, 0, filled);
            pending = writer.WriteAsync(current.AsMemory(0, filled));
            written += filled;
            (current, spare) = (spare, current);
            filled = 0;
        }
    }

    /// <summary>Upload bodies may be as large as the upload (Kestrel's default cap is lifted for them only) but not slower than the configured rate.</summary>
    private void LiftBodyLimits(HttpContext context)
    {
        var size = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (size is { IsReadOnly: false })
        {
            size.MaxRequestBodySize = null;
        }

        var rate = context.Features.Get<IHttpMinRequestBodyDataRateFeature>();
        if (rate is not null)
        {
            rate.MinDataRate = _options.MinBodyBytesPerSecond == 0 ? null : new MinDataRate(_options.MinBodyBytesPerSecond, TimeSpan.FromSeconds(10));
        }
    }

    private static string? ParseChecksum(string header, out IncrementalHash? hash, out byte[]? digest)
    {
        hash = null;
        digest = null;
        var space = header.IndexOf(' ');
        if (space <= 0)
        {
            return "Upload-Checksum must be '<algorithm> <base64 digest>'";
        }

        var algorithm = header[..space];
        var (name, size) = algorithm switch
        {
            "sha1" => (HashAlgorithmName.SHA1, 20),
            "sha256" => (HashAlgorithmName.SHA256, 32),
            _ => (default(HashAlgorithmName), 0),
        };
        if (size == 0)
        {
            return $"Upload-Checksum algorithm '{algorithm}' is not supported (use {ChecksumAlgorithms})";
        }

        var bytes = new byte[size + 3];
        if (!Convert.TryFromBase64String(header[(space + 1)..], bytes, out var written) || written != size)
        {
            return $"Upload-Checksum digest is not the base64 of a {algorithm} digest";
        }

        digest = bytes[..size];
        hash = IncrementalHash.CreateHash(name);
        return null;
    }
}
