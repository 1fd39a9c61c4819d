using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OpenConnect.Hosting;

/// <summary>Checks one options class against a configuration a reload is about to apply.</summary>
internal interface IOptionsReloadCheck
{
    /// <summary>Every failure, each naming its key; empty when the new configuration is valid.</summary>
    IReadOnlyList<string> Check(IConfiguration candidate);
}

public static class RoleOptionsRegistration
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from its section, rejecting unknown keys and values that
    /// do not convert, and validates it when the host starts, so a bad setting stops the process
    /// with a message that names the key.
    /// </summary>
    public static IServiceCollection AddRoleOptions<TOptions>(this IServiceCollection services, IConfiguration configuration)
        where TOptions : class, IRoleOptions<TOptions>
    {
        var section = configuration.GetSection(TOptions.SectionName);
        services.AddOptions<TOptions>()
            .Configure(options =>
            {
                try
                {
                    section.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
                }
                catch (InvalidOperationException ex)
                {
                    throw new OptionsValidationException(TOptions.SectionName, typeof(TOptions), [$"section '{TOptions.SectionName}': {ex.Message}"]);
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, RoleOptionsValidator<TOptions>>();
        // IOptionsMonitor<TOptions> follows a reload (SIGHUP); IOptions<TOptions> keeps the values read at start.
        services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(new ConfigurationChangeTokenSource<TOptions>(Options.DefaultName, section));
        services.AddSingleton<IOptionsReloadCheck, OptionsReloadCheck<TOptions>>();
        return services;
    }

    /// <summary>
    /// The section bound for use before the host starts (Kestrel's listener setup), or the defaults
    /// when it does not even bind: validation at start is what reports a bad section, with key names.
    /// </summary>
    public static TOptions BindOrDefaults<TOptions>(IConfiguration configuration)
        where TOptions : class, IRoleOptions<TOptions>, new()
    {
        try
        {
            return configuration.GetSection(TOptions.SectionName).Get<TOptions>() ?? new TOptions();
        }
        catch (InvalidOperationException)
        {
            return new TOptions();
        }
    }

    /// <summary>Binds and validates <typeparamref name="TOptions"/> from a new configuration before a reload applies it, with every validator the role registered.</summary>
    private sealed class OptionsReloadCheck<TOptions>(IEnumerable<IValidateOptions<TOptions>> validators) : IOptionsReloadCheck
        where TOptions : class, IRoleOptions<TOptions>
    {
        public IReadOnlyList<string> Check(IConfiguration candidate)
        {
            var options = Activator.CreateInstance<TOptions>();
            try
            {
                candidate.GetSection(TOptions.SectionName).Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException ex)
            {
                return [$"section '{TOptions.SectionName}': {ex.Message}"];
            }

            var failures = new List<string>();
            foreach (var validator in validators)
            {
                if (validator.Validate(Options.DefaultName, options) is { Failed: true } result)
                {
                    failures.AddRange(result.Failures ?? [result.FailureMessage]);
                }
            }

            return failures;
        }
    }

    private sealed class RoleOptionsValidator<TOptions> : IValidateOptions<TOptions>
        where TOptions : class, IRoleOptions<TOptions>
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var check = new OptionsCheck(TOptions.SectionName);
            options.Validate(check);
            return check.Errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(check.Errors);
        }
    }
}
