using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance;
using OpenConnect.FillController;
using OpenConnect.Hosting;
using OpenConnect.Origin;
using OpenConnect.Steering;

namespace OpenConnect.Cli.ConfigCheck;

/// <summary>
/// Validates a role's config file the way the role does at start: the role's own host is built with
/// <c>--config FILE</c> (the same configuration sources, binding that rejects unknown keys, and
/// options validators), then every options class registered for validation at start is validated,
/// without starting any listener or service. Nothing of the rules lives here.
/// </summary>
public static class RoleConfigCheck
{
    /// <summary>The roles and their host factories, by the names the roles log with.</summary>
    public static IReadOnlyDictionary<string, Func<string[], WebApplication>> Roles { get; } = new Dictionary<string, Func<string[], WebApplication>>(StringComparer.Ordinal)
    {
        [ApplianceHost.RoleName] = ApplianceHost.Build,
        [SteeringHost.RoleName] = SteeringHost.Build,
        [OriginHost.RoleName] = OriginHost.Build,
        [FillControllerHost.RoleName] = FillControllerHost.Build,
    };

    /// <summary>The outcome: <see cref="ExitCodes.Ok"/> with "ROLE: FILE ok", or the exit code and the problems, each naming the key.</summary>
    public sealed record Result(int ExitCode, IReadOnlyList<string> Lines);

    public static async Task<Result> CheckAsync(string role, string file)
    {
        if (!Roles.TryGetValue(role, out var build))
        {
            return new Result(ExitCodes.Usage, [$"unknown role '{role}': expected one of {string.Join(", ", Roles.Keys)}"]);
        }

        var full = Path.GetFullPath(file);
        if (!File.Exists(full))
        {
            return new Result(ExitCodes.Usage, [$"{role}: {file}: no such file"]);
        }

        // JSON first, with the line and position: the configuration provider's message is vaguer.
        try
        {
            using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(full).ConfigureAwait(false), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new Result(ExitCodes.InvalidConfig, [$"{role}: {file}: the file must hold one JSON object (sections such as \"{SectionOf(role)}\")"]);
            }
        }
        catch (JsonException ex)
        {
            return new Result(ExitCodes.InvalidConfig, [$"{role}: {file}: not valid JSON: {ex.Message}"]);
        }
        catch (IOException ex)
        {
            return new Result(ExitCodes.Usage, [$"{role}: {file}: cannot read: {ex.Message}"]);
        }
        catch (UnauthorizedAccessException ex)
        {
            return new Result(ExitCodes.Usage, [$"{role}: {file}: cannot read: {ex.Message}"]);
        }

        WebApplication? app = null;
        try
        {
            // The role's own log lines (warnings about a setting) go to stderr: stdout stays the verdict.
            app = build(["--config", full, "--Logging:Console:LogToStandardErrorThreshold=Trace"]);
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return new Result(ExitCodes.Ok, [$"{role}: {file} ok"]);
        }
        catch (OptionsValidationException ex)
        {
            return new Result(ExitCodes.InvalidConfig, [.. ex.Failures.Select(failure => $"{role}: {file}: {failure}")]);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(inner => inner is OptionsValidationException))
        {
            return new Result(ExitCodes.InvalidConfig, [.. ex.InnerExceptions.Cast<OptionsValidationException>().SelectMany(o => o.Failures).Select(failure => $"{role}: {file}: {failure}")]);
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException or FormatException or IOException)
        {
            return new Result(ExitCodes.InvalidConfig, [$"{role}: {file}: {RoleHost.DescribeStartupFailure(ex)}"]);
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static string SectionOf(string role) => role switch
    {
        "fill-controller" => "FillController",
        _ => char.ToUpperInvariant(role[0]) + role[1..],
    };
}
