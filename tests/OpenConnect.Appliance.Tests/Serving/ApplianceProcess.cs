using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>The appliance as a real separate process (see <see cref="RoleProcess"/>), allowed unsigned loopback requests like the in-process harness.</summary>
public static class ApplianceProcess
{
    /// <param name="prefix">Run under this command (e.g. strace), or null.</param>
    /// <param name="settings">Command-line settings.</param>
    public static Task<RoleProcess> StartAsync(string[]? prefix, params string[] settings) =>
        RoleProcess.StartAsync("appliance", typeof(ApplianceHost).Assembly.Location, prefix, [ApplianceHarness.UnsignedLoopback, ApplianceHarness.AllowUnsignedContent, .. settings]);
}
