using System.Reflection;

namespace OpenConnect.Hosting;

/// <summary>
/// The version stamped into every assembly at build time (<c>git describe --tags --always --dirty</c>,
/// see Directory.Build.targets): what <c>--version</c> prints and <c>openconnect_build_info</c> carries.
/// </summary>
public static class RoleVersion
{
    public const string Argument = "--version";

    /// <summary>The build's version, e.g. <c>1.2.0</c>, <c>1.2.0-3-gabc1234</c> or <c>825181a-dirty</c>.</summary>
    public static string Current { get; } =
        typeof(RoleVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0-unknown";

    /// <summary>The line <c>--version</c> prints: <c>openconnect-{role} {version}</c>.</summary>
    public static string Line(string role) => $"openconnect-{role} {Current}";

    /// <summary>True when the arguments ask for the version only (<c>--version</c> anywhere).</summary>
    public static bool IsRequested(IEnumerable<string> args) => args.Contains(Argument, StringComparer.Ordinal);
}
