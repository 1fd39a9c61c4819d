using System.Net;
using OpenConnect.Hosting;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>The job store's settings at start: bad ones stop the start naming the key, never echoing the connection string; an unreachable PostgreSQL names host and port.</summary>
public sealed class PipelineDatabaseStartTests
{
    [Theory]
    [InlineData("--Origin:Pipeline:Database:Provider=Oracle", "Failed to convert configuration value 'Oracle' at 'Origin:Pipeline:Database:Provider'")]
    [InlineData("--Origin:Pipeline:Database:Provider=PostgreSql", "Origin:Pipeline:Database:ConnectionString = '(hidden)' is invalid: exactly one of Pipeline:Database:ConnectionString and Pipeline:Database:ConnectionStringFile")]
    [InlineData("--Origin:Role=api", "Origin:Role = 'api' is invalid: must be all or worker")]
    [InlineData("--Origin:Pipeline:ChunkLease=00:00:01", "Origin:Pipeline:ChunkLease = '00:00:01' is invalid: must be between 00:00:03 and 00:10:00")]
    public async Task ABadSetting_StopsTheStart_NamingTheKey(string setting, string expected)
    {
        using var dir = new TempDirectory();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", setting));
        Assert.Contains(expected, RoleHost.DescribeStartupFailure(failure), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnparsableConnectionString_IsRefused_WithoutEchoingIt()
    {
        using var dir = new TempDirectory();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", "--Origin:Pipeline:Database:Provider=PostgreSql", "--Origin:Pipeline:Database:ConnectionString=Host=db;Password=hunter2;Bogus Key=1"));
        var message = RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:Pipeline:Database:ConnectionString = '(hidden)' is invalid: is not a valid Npgsql connection string", message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachablePostgres_StopsTheStart_NamingHostAndPort()
    {
        using var dir = new TempDirectory();
        var port = RoleProcess.FreePort();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={dir.Path}",
            "--Origin:Pipeline:Database:Provider=PostgreSql",
            $"--Origin:Pipeline:Database:ConnectionString=Host=127.0.0.1;Port={port};Database=jobs;Username=origin;Password=hunter2;Timeout=3"));
        var message = RoleHost.DescribeStartupFailure(failure);
        Assert.StartsWith($"cannot reach the pipeline's database, PostgreSQL at 127.0.0.1:{port} database jobs:", message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheConnectionStringFile_IsRead_AndAWorkerServesNoApi()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        var file = dir.Combine("pipeline-db.conn");
        PrivateFile.Write(file, database.ConnectionString + "\n");
        await using var worker = await RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={dir.Path}",
            "--Origin:Role=worker",
            "--Origin:Pipeline:Database:Provider=PostgreSql",
            $"--Origin:Pipeline:Database:ConnectionStringFile={file}");

        using var client = worker.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/titles")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/files/")).StatusCode);
        using var management = worker.CreateManagementClient();
        Assert.Contains("openconnect_origin_pipeline_step_seconds", await management.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("pipeline.db")));
    }
}
