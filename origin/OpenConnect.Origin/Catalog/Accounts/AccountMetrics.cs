using Prometheus;

namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>Account metrics on the host's registry: login outcomes, so a guessing campaign shows as a rate.</summary>
public sealed class AccountMetrics
{
    public AccountMetrics(IMetricFactory factory)
    {
        Logins = factory.CreateCounter(
            "openconnect_origin_logins_total",
            "Login attempts by result: ok, wrong (unknown name or wrong password), backed_off (429, the name failed too often), busy (503, every password-hash slot taken).",
            ["result"]);
        Registrations = factory.CreateCounter(
            "openconnect_origin_registrations_total",
            "Registrations by result: viewer, uploader (an invite code spent), taken, invite_refused, busy (503).",
            ["result"]);
    }

    public Counter Logins { get; }

    public Counter Registrations { get; }
}
