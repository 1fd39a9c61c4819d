using Microsoft.Extensions.Options;
using Npgsql;
using OpenConnect.Hosting.Database;
using OpenConnect.Origin.Ingest;
using OpenConnect.Origin.Ingest.Shared;
using OpenConnect.Origin.Tests.Storage;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The shared upload store below the endpoint: two instances on one database can never both move
/// an offset (the conditional update), its table migrates from empty and from the previous version
/// (keeping rows), once when instances start together, and the origin refuses to start with
/// <c>Store=Shared</c> without S3 and PostgreSQL, or with a database it cannot reach, saying so.
/// </summary>
public sealed class SharedUploadStoreTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    /// <summary>Version 1 of the table, as the first build with the shared store created it.</summary>
    private const string VersionOne = """
        CREATE TABLE ingest_schema_version (version INTEGER NOT NULL);
        INSERT INTO ingest_schema_version VALUES (1);
        CREATE TABLE ingest_uploads (
            id TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            upload_offset BIGINT NOT NULL,
            multipart_id TEXT,
            parts TEXT NOT NULL DEFAULT '[]',
            tail_key TEXT,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """;

    [Fact]
    public async Task TwoInstances_CannotBothAdvanceAnOffset()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        using var a = new SharedUploadStore(Options(database, dir.Combine("a")));
        using var b = new SharedUploadStore(Options(database, dir.Combine("b")));
        a.Migrate();
        var entryA = await a.CreateAsync(Record(UploadIds.NewId(), 100), CancellationToken.None);
        var entryB = (await b.FindAsync(entryA.Current.Id, CancellationToken.None))!;

        Assert.True(await a.CommitAsync(entryA, entryA.Current with { Offset = 10 }));
        Assert.False(await b.CommitAsync(entryB, entryB.Current with { Offset = 20 }));

        // The loser was reloaded with the winner's offset, and can go on from there.
        Assert.Equal(10, entryB.Current.Offset);
        Assert.True(await b.CommitAsync(entryB, entryB.Current with { Offset = 20 }));
        Assert.Equal(20, (await a.FindAsync(entryA.Current.Id, CancellationToken.None))!.Current.Offset);
    }

    [Fact]
    public async Task AnEmptyDatabase_IsMigratedOnce_ByInstancesStartingTogether()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        var stores = Enumerable.Range(0, 4).Select(i => new SharedUploadStore(Options(database, dir.Combine($"s{i}")))).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(s.Migrate)));
        }
        finally
        {
            stores.ForEach(s => s.Dispose());
        }

        Assert.Equal([1, 2], await VersionsAsync(database));
    }

    [Fact]
    public async Task ADatabaseAtThePreviousVersion_IsMigrated_AndKeepsItsRows()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        var id = UploadIds.NewId();
        var record = Record(id, 5000) with { Offset = 1234 };
        await ExecuteAsync(database, VersionOne);
        await ExecuteAsync(database, $"""
            INSERT INTO ingest_uploads (id, record, upload_offset, multipart_id, parts, tail_key)
            VALUES ('{id}', '{System.Text.Json.JsonSerializer.Serialize(record)}', 1234, 'mp-1', '[]', 'uploads/{id}/tail-1234')
            """);

        using var store = new SharedUploadStore(Options(database, dir.Path));
        store.Migrate();

        Assert.Equal([1, 2], await VersionsAsync(database));
        var entry = await store.FindAsync(id, CancellationToken.None);
        Assert.NotNull(entry);
        Assert.Equal(1234, entry.Current.Offset);
        Assert.Equal(5000, entry.Current.Length);
        Assert.True(await store.CommitAsync(entry, entry.Current with { Offset = 1300 }));
    }

    [Fact]
    public async Task SharedWithoutS3AndPostgres_OrWithAnUnreachableDatabase_StopsTheStart_SayingWhy()
    {
        using var dir = new TempDirectory();
        var missing = await StartFailsAsync(dir.Path, "--Origin:Ingest:Store=Shared");
        Assert.Contains("Origin:Ingest:Store = 'Shared' is invalid: Shared keeps upload bytes in the S3 bucket of Origin:Storage", missing, StringComparison.Ordinal);
        Assert.Contains("Origin:Ingest:Store = 'Shared' is invalid: Shared keeps upload records in the pipeline's PostgreSQL database", missing, StringComparison.Ordinal);

        var bogus = await StartFailsAsync(dir.Path, "--Origin:Ingest:Store=Cloud", "--Origin:Ingest:SharedPartSizeBytes=1024");
        Assert.Contains("Origin:Ingest:Store = 'Cloud' is invalid: must be Local or Shared", bogus, StringComparison.Ordinal);
        Assert.Contains("Origin:Ingest:SharedPartSizeBytes = '1024' is invalid", bogus, StringComparison.Ordinal);

        // Nothing listens on port 1: a clear start-up error naming host and port, not a stack trace.
        var unreachable = await StartFailsAsync(
            dir.Path,
            [.. s3.Server.OriginSettings(S3rverFixture.Bucket), "--Origin:Ingest:Store=Shared", "--Origin:Pipeline:Database:Provider=PostgreSql",
                "--Origin:Pipeline:Database:ConnectionString=Host=127.0.0.1;Port=1;Database=none;Username=none;Password=secret-password;Timeout=3"]);
        Assert.Contains("127.0.0.1:1", unreachable, StringComparison.Ordinal);
        Assert.Contains("cannot reach", unreachable, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password", unreachable, StringComparison.Ordinal);
    }

    private IOptions<OriginOptions> Options(TestDatabase database, string dataDirectory)
    {
        var options = new OriginOptions { DataDirectory = dataDirectory };
        options.Storage.Kind = "S3";
        options.Storage.S3 = s3.Options("ingest-store-" + Guid.NewGuid().ToString("N"));
        options.Pipeline.Database.Provider = DatabaseProvider.PostgreSql;
        options.Pipeline.Database.ConnectionString = database.ConnectionString;
        options.Ingest.Store = "Shared";
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    private static UploadRecord Record(string id, long length) => new()
    {
        Id = id,
        Length = length,
        CreatedAt = DateTimeOffset.UtcNow,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };

    private static async Task<string> StartFailsAsync(string dataDirectory, params string[] settings)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var origin = await RunningRole.StartAsync(OriginHost.Build, [$"--Origin:DataDirectory={dataDirectory}", .. settings]);
        });
        return error is OptionsValidationException validation ? string.Join('\n', validation.Failures) : error.ToString();
    }

    private static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<int>> VersionsAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version FROM ingest_schema_version ORDER BY version", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var versions = new List<int>();
        while (await reader.ReadAsync())
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }
}
