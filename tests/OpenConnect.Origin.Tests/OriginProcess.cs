using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests;

/// <summary>The origin as a real separate process (see <see cref="RoleProcess"/>), logging warnings only.</summary>
internal static class OriginProcess
{
    public static Task<RoleProcess> StartAsync(params string[] settings) =>
        RoleProcess.StartAsync("origin", typeof(OriginHost).Assembly.Location, null, ["--Logging:LogLevel:Default=Warning", .. settings]);
}
