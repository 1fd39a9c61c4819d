namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// A serving test class that runs on either data-listener transport: as written on Kestrel's socket
/// transport (the default), and again in a derived class (<see cref="EpollTransportSuites"/>) with
/// <c>Appliance:Serving:Transport=Epoll</c>. Whatever passes on Kestrel must pass on the epoll transport.
/// </summary>
public abstract class TransportTests
{
    /// <summary>Settings that choose the transport; none for Kestrel's.</summary>
    protected virtual string[] TransportSettings => [];

    protected Task<ApplianceHarness> StartAsync(params string[] settings) => ApplianceHarness.StartAsync([.. settings, .. TransportSettings]);

    protected Task<ApplianceHarness> StartWithParentsAsync(IReadOnlyList<string> parentsBefore, params string[] settings) =>
        ApplianceHarness.StartWithParentsAsync(parentsBefore, [.. settings, .. TransportSettings]);
}
