namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// The serving and protocol test classes run again with the plaintext data listener on the epoll
/// transport (<c>Appliance:Serving:Transport=Epoll</c>): each class here inherits every test of its base.
/// </summary>
public static class EpollTransportSuites
{
    public const string Epoll = "--Appliance:Serving:Transport=Epoll";

    public sealed class Protocol : ProtocolTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class Limits : LimitsTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class Shutdown : ShutdownTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class CacheStatus : CacheStatusTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class PullThrough : PullThroughTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class MissLimit : MissLimitTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class Eviction : EvictionTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class PlaylistFreshness : PlaylistFreshnessTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class Integrity : IntegrityTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    [Collection(SignalCollection)]
    public sealed class AccessLog : AccessLogTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class WriteReadiness : WriteReadinessTests
    {
        protected override string[] TransportSettings => [Epoll];
    }

    public sealed class DualStack : DualStackTests
    {
        protected override string[] TransportSettings => [Epoll];
    }
}
