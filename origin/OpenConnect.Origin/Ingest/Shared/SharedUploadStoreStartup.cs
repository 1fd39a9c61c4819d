using Microsoft.Extensions.Options;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Ingest.Shared;

/// <summary>Migrates the shared store's table at start (before the ingest loops run); an unreachable database stops the start with a message naming it.</summary>
internal sealed class SharedUploadStoreStartup(IUploadStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (store is SharedUploadStore shared)
        {
            shared.Migrate();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary><c>Origin:Ingest:Store=Shared</c> needs the S3 object store and the PostgreSQL pipeline database: checked with the other settings at start.</summary>
internal sealed class SharedStoreRequirements : IValidateOptions<OriginOptions>
{
    public ValidateOptionsResult Validate(string? name, OriginOptions options)
    {
        if (!options.Ingest.IsShared)
        {
            return ValidateOptionsResult.Success;
        }

        var check = new OptionsCheck(OriginOptions.SectionName);
        check.Require(options.Storage.IsS3, "Ingest:Store", options.Ingest.Store,
            "Shared keeps upload bytes in the S3 bucket of Origin:Storage: set Origin:Storage:Kind=S3 (and its Origin:Storage:S3 settings)");
        check.Require(options.Pipeline.Database.IsPostgreSql, "Ingest:Store", options.Ingest.Store,
            "Shared keeps upload records in the pipeline's PostgreSQL database: set Origin:Pipeline:Database:Provider=PostgreSql (and its ConnectionString or ConnectionStringFile)");
        return check.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(check.Errors);
    }
}
