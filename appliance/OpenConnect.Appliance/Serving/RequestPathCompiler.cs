using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Compiles the request path's code before the listeners open, so the first requests after a start do not
/// wait for the JIT. Tiered compilation is off (see the project file), so every method is compiled fully
/// optimized on its first call: without this, the first seconds of serving compiled the parser, planner,
/// cache lookup, senders and their async state machines while requests waited behind them on the one core
/// the server has. Runs as a start step (hosted services start before Kestrel listens, so <c>/healthz</c>
/// answers only after it); <c>Appliance:Serving:CompileAtStart=false</c> turns it off.
/// </summary>
public sealed partial class RequestPathCompiler(IOptions<ApplianceOptions> options, ILogger<RequestPathCompiler> logger) : IHostedService
{
    /// <summary>Namespaces whose methods a request runs: parsing, access, lookup, both tiers, the senders and transports.</summary>
    public static readonly IReadOnlyList<string> Namespaces =
    [
        "OpenConnect.Appliance.Serving",
        "OpenConnect.Appliance.Http",
        "OpenConnect.Appliance.Caching",
        "OpenConnect.Appliance.Storage",
        "OpenConnect.Contracts.Content",
        "OpenConnect.Contracts.Security",
    ];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Serving.CompileAtStart)
        {
            return Task.CompletedTask;
        }

        var started = Stopwatch.GetTimestamp();
        var assemblies = new[] { typeof(RequestPathCompiler).Assembly, typeof(Contracts.Content.ContentKey).Assembly };
        var (compiled, failed) = Compile(assemblies, Namespaces, cancellationToken);
        Compiled(logger, compiled, failed, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// JIT-compiles every method and constructor with a body of the non-generic types (nested ones too: async
    /// state machines, lambdas' closures) in <paramref name="namespaces"/>; returns how many were compiled and how
    /// many the runtime refused. Generic code is compiled per instantiation on first use, as before.
    /// </summary>
    public static (int Compiled, int Failed) Compile(IEnumerable<Assembly> assemblies, IReadOnlyList<string> namespaces, CancellationToken cancellationToken)
    {
        const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        var compiled = 0;
        var failed = 0;
        foreach (var assembly in assemblies)
        {
            foreach (var type in assembly.GetTypes())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (type.ContainsGenericParameters || type.IsInterface || !InNamespaces(type.Namespace, namespaces))
                {
                    continue;
                }

                foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
                {
                    if (!HasBody(method))
                    {
                        continue;
                    }

                    try
                    {
                        RuntimeHelpers.PrepareMethod(method.MethodHandle);
                        compiled++;
                    }
                    catch (Exception ex) when (ex is ArgumentException or NotSupportedException or TypeLoadException or BadImageFormatException or MissingMethodException or InvalidProgramException)
                    {
                        failed++;
                    }
                }
            }
        }

        return (compiled, failed);
    }

    private static bool HasBody(MethodBase method) =>
        !method.IsAbstract
        && !method.ContainsGenericParameters
        && (method.Attributes & MethodAttributes.PinvokeImpl) == 0
        && (method.MethodImplementationFlags & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) == 0;

    private static bool InNamespaces(string? name, IReadOnlyList<string> namespaces)
    {
        if (name is null)
        {
            return false;
        }

        foreach (var prefix in namespaces)
        {
            if (name == prefix || (name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == '.'))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(1010, LogLevel.Information, "Request path compiled before listening: {Methods} methods ({Refused} refused by the runtime) in {Milliseconds:F0} ms")]
    private static partial void Compiled(ILogger logger, int methods, int refused, double milliseconds);
}
