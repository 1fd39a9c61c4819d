using System.Text.Json;

namespace OpenConnect.Origin.Catalog;

/// <summary>Every catalog error is a status code plus <c>{"error": "..."}</c>.</summary>
internal static class ApiErrors
{
    public static IResult Error(int status, string message) => Results.Json(new ErrorBody(message), statusCode: status);

    public static IResult BadRequest(string message) => Error(StatusCodes.Status400BadRequest, message);

    public static IResult NotFound(string message) => Error(StatusCodes.Status404NotFound, message);

    public static IResult Forbidden(string message) => Error(StatusCodes.Status403Forbidden, message);

    public static IResult Conflict(string message) => Error(StatusCodes.Status409Conflict, message);

    /// <summary>429 or 503 with <c>Retry-After</c> in whole seconds (at least 1).</summary>
    public static IResult RetryLater(HttpContext context, int status, TimeSpan retryAfter, string message)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Error(status, message.Replace("{seconds}", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
    }

    public static IResult Unauthorized(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Error(StatusCodes.Status401Unauthorized, message);
    }
}

public sealed record ErrorBody(string Error);

/// <summary>
/// Reads a bounded JSON request body, turning every malformed input into a 400 message. Every string
/// in it must be text both catalog engines store alike (<see cref="UserText.Problem"/>): a NUL or an
/// unpaired UTF-16 surrogate anywhere is a 400 naming the field, never a 500 from PostgreSQL.
/// </summary>
internal static class RequestJson
{
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        if (request.ContentLength is > MaxBodyBytes)
        {
            return (null, ApiErrors.Error(StatusCodes.Status413PayloadTooLarge, $"request body is larger than {MaxBodyBytes} bytes"));
        }

        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, ApiErrors.Error(StatusCodes.Status415UnsupportedMediaType, "request body must be application/json"));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, ApiErrors.Error(StatusCodes.Status413PayloadTooLarge, $"request body is larger than {MaxBodyBytes} bytes"));
            }

            buffer.Write(chunk, 0, read);
        }

        if (FindInvalidText(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) is { } problem)
        {
            return (null, ApiErrors.BadRequest(problem));
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Options);
            return value is null ? (null, ApiErrors.BadRequest("request body must be a JSON object")) : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, ApiErrors.BadRequest($"malformed JSON body: {ex.Message}"));
        }
    }

    /// <summary>The first string in <paramref name="json"/> that is not storable text, as a message naming its field; null when all are (or the JSON is malformed, which the deserializer reports).</summary>
    private static string? FindInvalidText(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var field = "";
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String)
                {
                    var text = reader.GetString()!;
                    if (UserText.Problem(text) is { } problem)
                    {
                        return reader.TokenType == JsonTokenType.PropertyName ? $"a field name {problem}" : $"{Describe(field)} {problem}";
                    }

                    if (reader.TokenType == JsonTokenType.PropertyName)
                    {
                        field = text;
                    }
                }
            }
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate (\ud800) or bytes that are not UTF-8: GetString refuses them.
            return $"{Describe(field)} is not valid Unicode text (an unpaired UTF-16 surrogate or invalid UTF-8)";
        }
        catch (JsonException)
        {
            return null;
        }

        return null;
    }

    private static string Describe(string field) => field.Length == 0 ? "a string" : $"field '{field}'";
}

/// <summary>
/// Rules for user text (titles, descriptions, tags, comments, channel names, upload metadata) that
/// both catalog engines share: PostgreSQL's <c>text</c> cannot hold U+0000, and an unpaired UTF-16
/// surrogate is not Unicode text (it cannot be encoded as UTF-8), so neither is accepted on either engine.
/// </summary>
internal static class UserText
{
    /// <summary>What is wrong with <paramref name="text"/> (to follow a field name), or null when it may be stored.</summary>
    public static string? Problem(string? text)
    {
        if (text is null)
        {
            return null;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return "contains a NUL character (U+0000), which text may not contain";
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return "contains an unpaired UTF-16 surrogate, which is not valid Unicode text";
            }
        }

        return null;
    }

    /// <summary><paramref name="text"/> without its NUL characters and unpaired surrogates (for text no request can be refused for, like upload metadata).</summary>
    public static string? Clean(string? text)
    {
        if (Problem(text) is null)
        {
            return text;
        }

        var kept = new System.Text.StringBuilder(text!.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                kept.Append(c).Append(text[++i]);
            }
            else if (c != '\0' && !char.IsSurrogate(c))
            {
                kept.Append(c);
            }
        }

        return kept.ToString();
    }
}

/// <summary>Opaque pagination cursors: base64url of a kind tag and numbers. A cursor from another list, or garbage, is a 400.</summary>
internal static class Cursor
{
    public static string Encode(string kind, params long[] values)
    {
        var text = kind + ":" + string.Join(':', values);
        return Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static bool TryDecode(string cursor, string kind, int count, out long[] values)
    {
        values = [];
        if (cursor.Length is 0 or > 200)
        {
            return false;
        }

        var base64 = cursor.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return false;
        }

        var parts = System.Text.Encoding.UTF8.GetString(bytes).Split(':');
        if (parts.Length != count + 1 || parts[0] != kind)
        {
            return false;
        }

        var parsed = new long[count];
        for (var i = 0; i < count; i++)
        {
            if (!long.TryParse(parts[i + 1], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out parsed[i]))
            {
                return false;
            }
        }

        values = parsed;
        return true;
    }
}

/// <summary>Shared request limits and parsing of common query parameters.</summary>
internal static class ApiLimits
{
    public const int MaxTitleLength = 200;
    public const int MaxDescriptionLength = 5000;
    public const int MaxTags = 20;
    public const int MaxTagLength = 40;
    public const int MaxCommentLength = 5000;
    public const int MaxQueryLength = 200;
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    public static bool TryPageSize(string? value, out int size, out IResult? error)
    {
        error = null;
        size = DefaultPageSize;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }

        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPageSize)
        {
            error = ApiErrors.BadRequest($"limit must be an integer between 1 and {MaxPageSize}");
            return false;
        }

        return true;
    }

    public static bool IsValidId(string id) => OpenConnect.Contracts.Content.ContentKey.IsValidTitleId(id);
}
