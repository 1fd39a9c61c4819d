namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// The job store's migrations per engine, oldest first; migration <c>i</c> takes the schema from
/// version <c>i</c> to <c>i + 1</c>. The tables have the same columns on both engines, so the store's
/// queries are shared; only types and the insertion-order column differ.
/// </summary>
internal static class JobSchema
{
    /// <summary>
    /// Chunk encode jobs: claimed with a lease (<c>lease_token</c> names the claim, <c>lease_until</c>
    /// ends it), completed with the directory holding the chunk's outputs. The same DDL on both
    /// engines (SQLite gives BIGINT and DOUBLE PRECISION integer and real affinity).
    /// </summary>
    private const string ChunkJobs = """
        CREATE TABLE chunk_jobs (
            title_id TEXT NOT NULL REFERENCES titles(id),
            chunk INTEGER NOT NULL,
            ordinal INTEGER NOT NULL,
            state TEXT NOT NULL,
            spec TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_token TEXT,
            lease_owner TEXT,
            lease_until BIGINT,
            not_before BIGINT NOT NULL DEFAULT 0,
            progress DOUBLE PRECISION NOT NULL DEFAULT 0,
            output TEXT,
            error TEXT,
            created_at BIGINT NOT NULL,
            started_at BIGINT,
            finished_at BIGINT,
            PRIMARY KEY (title_id, chunk)
        );
        CREATE INDEX chunk_jobs_claim ON chunk_jobs(state, created_at, ordinal);
        """;

    public static readonly IReadOnlyList<string> Sqlite =
    [
        """
        CREATE TABLE titles (
            id TEXT PRIMARY KEY,
            upload_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            step TEXT,
            percent REAL NOT NULL DEFAULT 0,
            reason TEXT,
            metadata TEXT NOT NULL,
            upload_path TEXT NOT NULL,
            source_file TEXT,
            source TEXT,
            renditions TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            published_at INTEGER,
            next_attempt_at INTEGER
        );
        CREATE INDEX titles_state ON titles(state, created_at);
        CREATE INDEX titles_created ON titles(created_at);
        CREATE TABLE steps (
            title_id TEXT NOT NULL REFERENCES titles(id),
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            started_at INTEGER,
            finished_at INTEGER,
            error TEXT,
            PRIMARY KEY (title_id, name)
        );
        """,
        // An uploader's titles (their list, their quotas) without scanning every title.
        """
        CREATE INDEX titles_uploader ON titles(IFNULL(json_extract(metadata, '$.uploader_id'), ''), created_at);
        """,
        // The uploader and the source's duration as columns, so the queries need no JSON functions
        // (which the engines spell differently).
        """
        ALTER TABLE titles ADD COLUMN uploader TEXT NOT NULL DEFAULT '';
        ALTER TABLE titles ADD COLUMN source_seconds REAL;
        UPDATE titles SET uploader = IFNULL(json_extract(metadata, '$.uploader_id'), ''), source_seconds = json_extract(source, '$.DurationSeconds');
        DROP INDEX titles_uploader;
        CREATE INDEX titles_uploader ON titles(uploader, created_at);
        """,
        ChunkJobs,
        // Which process coordinates a title, until when (several origins on one store).
        """
        ALTER TABLE titles ADD COLUMN coordinator TEXT;
        ALTER TABLE titles ADD COLUMN coordinator_until INTEGER;
        """,
    ];

    public static readonly IReadOnlyList<string> PostgreSql =
    [
        """
        CREATE TABLE titles (
            seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            id TEXT PRIMARY KEY,
            upload_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            step TEXT,
            percent DOUBLE PRECISION NOT NULL DEFAULT 0,
            reason TEXT,
            metadata TEXT NOT NULL,
            uploader TEXT NOT NULL DEFAULT '',
            upload_path TEXT NOT NULL,
            source_file TEXT,
            source TEXT,
            source_seconds DOUBLE PRECISION,
            renditions TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            published_at BIGINT,
            next_attempt_at BIGINT
        );
        CREATE INDEX titles_state ON titles(state, created_at);
        CREATE INDEX titles_created ON titles(created_at);
        CREATE INDEX titles_uploader ON titles(uploader, created_at);
        CREATE TABLE steps (
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            title_id TEXT NOT NULL REFERENCES titles(id),
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            started_at BIGINT,
            finished_at BIGINT,
            error TEXT,
            PRIMARY KEY (title_id, name)
        );
        """,
        ChunkJobs,
        """
        ALTER TABLE titles ADD COLUMN coordinator TEXT, ADD COLUMN coordinator_until BIGINT;
        """,
    ];
}
