using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Ingest.Shared;

/// <summary>What the shared store keeps beside an upload's record: its multipart upload, committed parts, tail and (once completed) source object.</summary>
internal sealed record MultipartState(string? MultipartId, IReadOnlyList<UploadPart> Parts, string? TailKey, string? SourceKey)
{
    public static MultipartState Empty { get; } = new(null, [], null, null);

    /// <summary>A tail this state no longer refers to, deleted once the state is committed.</summary>
    public string? ObsoleteTail { get; init; }

    public long PartBytes => Parts.Sum(p => p.Size);
}

/// <summary>
/// Uploads shared by every origin instance (<c>Origin:Ingest:Store=Shared</c>): records in the
/// pipeline's PostgreSQL database (<c>ingest_uploads</c>), bytes in one S3 multipart upload per
/// upload in the bucket of <c>Origin:Storage:S3</c>. The writer lock is a PostgreSQL advisory lock
/// held on its own connection for the request, so a crashed instance's lock ends with its
/// connection; the offset is committed with a conditional update (<c>WHERE upload_offset =
/// expected</c>), so two instances can never both advance it. A complete upload's multipart upload
/// is completed into its source object, which is downloaded under <c>{DataDirectory}/uploads/</c>
/// for the pipeline intake.
/// </summary>
public sealed class SharedUploadStore : IUploadStore, IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly ConcurrentDictionary<string, UploadEntry> _entries = new(StringComparer.Ordinal);
    private readonly JobDatabase _database;
    private readonly Amazon.S3.IAmazonS3 _s3;
    private readonly string _staging;
    private readonly int _partSize;

    public SharedUploadStore(IOptions<OriginOptions> options)
    {
        var origin = options.Value;
        _database = JobDatabase.PostgreSql(origin.Pipeline.Database.ResolveConnectionString("Origin:Pipeline:Database"));
        _s3 = ObjectStoreRegistration.CreateClient(origin.Storage.S3);
        Objects = new UploadObjects(_s3, origin.Storage.S3);
        _staging = Path.Combine(origin.DataDirectory, "uploads");
        Directory.CreateDirectory(_staging);
        _partSize = origin.Ingest.SharedPartSizeBytes;
    }

    public bool SupportsConcatenation => false;

    public IEnumerable<UploadEntry> Entries => _entries.Values;

    /// <summary>For messages: the database (never its password).</summary>
    public string Describe => _database.Describe;

    internal UploadObjects Objects { get; }

    /// <summary>Brings the upload table to this build's version (at start).</summary>
    public void Migrate() => SharedUploadSchema.Migrate(_database);

    internal static MultipartState StateOf(UploadEntry entry) => entry.StoreState as MultipartState ?? MultipartState.Empty;

    public async ValueTask RefreshAsync(CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await OpenAsync();
        await using var command = Command(connection, $"SELECT {Columns} FROM ingest_uploads");
        await using var reader = await Run(() => command.ExecuteReaderAsync(cancellationToken));
        while (await reader.ReadAsync(cancellationToken))
        {
            var (record, state) = Read(reader);
            seen.Add(record.Id);
            Update(record, state);
        }

        foreach (var id in _entries.Keys)
        {
            if (!seen.Contains(id))
            {
                _entries.TryRemove(id, out _);
            }
        }
    }

    public async ValueTask<UploadEntry?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var row = await ReadRowAsync(id, cancellationToken);
        if (row is null)
        {
            _entries.TryRemove(id, out _);
            return null;
        }

        return Update(row.Value.Record, row.Value.State);
    }

    public async ValueTask<UploadEntry> CreateAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        var state = record.Length is 0 ? MultipartState.Empty : MultipartState.Empty with { MultipartId = await Objects.StartAsync(record.Id, cancellationToken) };
        await using var connection = await OpenAsync();
        await using var command = Command(connection, "INSERT INTO ingest_uploads (id, record, upload_offset, multipart_id, parts, tail_key, source_key) VALUES (@id, @record, @offset, @multipart, @parts, @tail, @source)");
        Bind(command, record, state);
        await Run(() => command.ExecuteNonQueryAsync(cancellationToken));
        var entry = new UploadEntry(record) { StoreState = state };
        _entries[record.Id] = entry;
        return entry;
    }

    public async ValueTask<bool> CommitAsync(UploadEntry entry, UploadRecord record, bool sync = true)
    {
        var state = StateOf(entry);
        int updated;
        await using (var connection = await OpenAsync())
        await using (var command = Command(connection, """
            UPDATE ingest_uploads SET record = @record, upload_offset = @offset, multipart_id = @multipart, parts = @parts,
                tail_key = @tail, source_key = @source, updated_at = now()
            WHERE id = @id AND upload_offset = @expected
            """))
        {
            Bind(command, record, state);
            Parameter(command, "@expected", entry.Current.Offset);
            updated = await Run(() => command.ExecuteNonQueryAsync(CancellationToken.None));
        }

        if (updated != 1)
        {
            await FindAsync(record.Id, CancellationToken.None);
            return false;
        }

        entry.Current = record;
        entry.StoreState = state with { ObsoleteTail = null };
        if (state.ObsoleteTail is { } obsolete && obsolete != state.TailKey)
        {
            await DeleteQuietlyAsync(obsolete);
        }

        return true;
    }

    public async ValueTask DeleteBodyAsync(string id)
    {
        var row = await ReadRowAsync(id, CancellationToken.None);
        await Objects.DeleteAllAsync(id, row?.State.MultipartId, CancellationToken.None);
        File.Delete(StagingPath(id));
        if (row is not null)
        {
            await using var connection = await OpenAsync();
            await using var command = Command(connection, "UPDATE ingest_uploads SET multipart_id = NULL, parts = '[]', tail_key = NULL, source_key = NULL, updated_at = now() WHERE id = @id");
            Parameter(command, "@id", id);
            await Run(() => command.ExecuteNonQueryAsync(CancellationToken.None));
            if (_entries.TryGetValue(id, out var entry))
            {
                entry.StoreState = MultipartState.Empty;
            }
        }
    }

    public async ValueTask DeleteAsync(string id)
    {
        await DeleteBodyAsync(id);
        await using var connection = await OpenAsync();
        await using var command = Command(connection, "DELETE FROM ingest_uploads WHERE id = @id");
        Parameter(command, "@id", id);
        await Run(() => command.ExecuteNonQueryAsync(CancellationToken.None));
        _entries.TryRemove(id, out _);
    }

    public async ValueTask<IAsyncDisposable?> TryLockAsync(UploadEntry entry)
    {
        if (!entry.Gate.Wait(0, CancellationToken.None))
        {
            return null;
        }

        return await AcquireAsync(entry, wait: false, CancellationToken.None);
    }

    public async ValueTask<IAsyncDisposable> LockAsync(UploadEntry entry, CancellationToken cancellationToken)
    {
        await entry.Gate.WaitAsync(cancellationToken);
        return (await AcquireAsync(entry, wait: true, cancellationToken))!;
    }

    public async ValueTask<IUploadBodyWriter> OpenWriterAsync(UploadEntry entry, Func<long, UploadRecord>? commitEachPart, CancellationToken cancellationToken) =>
        await MultipartBodyWriter.OpenAsync(this, entry, commitEachPart, _partSize, cancellationToken);

    /// <summary>
    /// Completes the multipart upload into the source object (once: recorded in <c>source_key</c>)
    /// and downloads it for the pipeline; a download already there (an interrupted submission) is used again.
    /// </summary>
    public async ValueTask<string> SourcePathAsync(UploadEntry entry, CancellationToken cancellationToken)
    {
        var record = entry.Current;
        var path = StagingPath(record.Id);
        if (File.Exists(path) && new FileInfo(path).Length == record.Offset)
        {
            return path;
        }

        var state = StateOf(entry);
        if (state.SourceKey is null)
        {
            if (state.Parts.Count == 0)
            {
                await Objects.PutEmptySourceAsync(record.Id, cancellationToken);
            }
            else
            {
                await Objects.CompleteAsync(record.Id, state.MultipartId!, state.Parts, cancellationToken);
            }

            entry.StoreState = state with { SourceKey = Objects.SourceKey(record.Id), MultipartId = null };
            if (!await CommitAsync(entry, record))
            {
                throw new UploadStoreException(StatusCodes.Status409Conflict, $"upload {record.Id} changed on another instance while it was completed");
            }
        }

        await Objects.DownloadSourceAsync(record.Id, path, cancellationToken);
        return path;
    }

    public ValueTask<long> AssembleAsync(string finalId, IReadOnlyList<UploadRecord> parts, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the shared upload store does not offer concatenation");

    public void Dispose()
    {
        _database.Dispose();
        _s3.Dispose();
    }

    private const string Columns = "id, record, upload_offset, multipart_id, parts, tail_key, source_key";

    private string StagingPath(string id) => Path.Combine(_staging, id + ".bin");

    private UploadEntry Update(UploadRecord record, MultipartState state)
    {
        var entry = _entries.GetOrAdd(record.Id, _ => new UploadEntry(record));
        entry.Current = record;
        entry.StoreState = state;
        return entry;
    }

    private async Task<(UploadRecord Record, MultipartState State)?> ReadRowAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, $"SELECT {Columns} FROM ingest_uploads WHERE id = @id");
        Parameter(command, "@id", id);
        await using var reader = await Run(() => command.ExecuteReaderAsync(cancellationToken));
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static (UploadRecord Record, MultipartState State) Read(DbDataReader reader)
    {
        var record = JsonSerializer.Deserialize<UploadRecord>(reader.GetString(1), Json)!;
        var state = new MultipartState(
            reader.IsDBNull(3) ? null : reader.GetString(3),
            JsonSerializer.Deserialize<List<UploadPart>>(reader.GetString(4), Json) ?? [],
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.IsDBNull(6) ? null : reader.GetString(6));

        // The column is what conditional updates compare: it is the committed offset.
        return (record with { Offset = reader.GetInt64(2) }, state);
    }

    private static void Bind(DbCommand command, UploadRecord record, MultipartState state)
    {
        Parameter(command, "@id", record.Id);
        Parameter(command, "@record", JsonSerializer.Serialize(record, Json));
        Parameter(command, "@offset", record.Offset);
        Parameter(command, "@multipart", state.MultipartId);
        Parameter(command, "@parts", JsonSerializer.Serialize(state.Parts, Json));
        Parameter(command, "@tail", state.TailKey);
        Parameter(command, "@source", state.SourceKey);
    }

    /// <summary>
    /// Takes the upload's advisory lock on a connection of its own (the caller holds the in-process
    /// gate), then reloads the entry: another instance may have written since it was read. Null when
    /// <paramref name="wait"/> is false and another instance holds the lock.
    /// </summary>
    private async Task<IAsyncDisposable?> AcquireAsync(UploadEntry entry, bool wait, CancellationToken cancellationToken)
    {
        var id = entry.Current.Id;
        var key = LockKey(id);
        DbConnection? connection = null;
        try
        {
            connection = await OpenAsync();
            await using (var command = Command(connection, $"SELECT pg_try_advisory_lock({SharedUploadSchema.LockClass}, @key)"))
            {
                Parameter(command, "@key", key);
                while (await Run(() => command.ExecuteScalarAsync(cancellationToken)) is not true)
                {
                    if (!wait)
                    {
                        await connection.DisposeAsync();
                        entry.Gate.Release();
                        return null;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
                }
            }
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            entry.Gate.Release();
            throw;
        }

        var held = new AdvisoryLock(connection, key, entry.Gate);
        UploadEntry? current;
        try
        {
            current = await FindAsync(id, cancellationToken);
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }

        if (current is null)
        {
            await held.DisposeAsync();
            throw new UploadStoreException(StatusCodes.Status404NotFound, "no such upload (it was deleted on another instance)");
        }

        return held;
    }

    /// <summary>The second advisory lock key: the first 32 bits of the (random) upload id. Two uploads sharing it only wait for each other.</summary>
    private static int LockKey(string id) => unchecked((int)uint.Parse(id.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));

    private async Task<DbConnection> OpenAsync()
    {
        try
        {
            return await Task.Run(_database.Open);
        }
        catch (DbException ex)
        {
            throw new UploadStoreException(StatusCodes.Status503ServiceUnavailable, $"the upload database is unavailable ({ex.Message}); retry later", ex);
        }
    }

    private static async Task<T> Run<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (DbException ex)
        {
            throw new UploadStoreException(StatusCodes.Status503ServiceUnavailable, $"the upload database is unavailable ({ex.Message}); retry later", ex);
        }
    }

    private async Task DeleteQuietlyAsync(string key)
    {
        try
        {
            await Objects.DeleteAsync(key, CancellationToken.None);
        }
        catch (UploadStoreException)
        {
            // A leftover tail is deleted with the upload's other objects at the latest.
        }
    }

    private static DbCommand Command(DbConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private static void Parameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    /// <summary>The held lock: unlocks on its connection, closes it and opens the in-process gate, once.</summary>
    private sealed class AdvisoryLock(DbConnection connection, int key, SemaphoreSlim gate) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            try
            {
                await using var command = Command(connection, $"SELECT pg_advisory_unlock({SharedUploadSchema.LockClass}, @key)");
                Parameter(command, "@key", key);
                await command.ExecuteScalarAsync();
            }
            catch (DbException)
            {
                // The connection is broken: the session, and its lock, end with it.
            }
            finally
            {
                await connection.DisposeAsync();
                gate.Release();
            }
        }
    }
}
