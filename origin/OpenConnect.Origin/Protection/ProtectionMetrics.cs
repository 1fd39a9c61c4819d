using Prometheus;

namespace OpenConnect.Origin.Protection;

/// <summary>Content protection's Prometheus metrics, on the host's own registry.</summary>
public sealed class ProtectionMetrics
{
    public ProtectionMetrics(IMetricFactory factory)
    {
        KeysCreated = factory.CreateCounter("openconnect_origin_title_keys_created_total", "Title keys generated and stored (wrapped).");
        LicenseRequests = factory.CreateCounter("openconnect_origin_license_requests_total", "ClearKey license requests by outcome: granted, forbidden (token missing, invalid, expired, for another title or client), not_found (title not protected, or none of the key ids is the title's), bad_request, rate_limited.", ["outcome"]);
        KeysIssued = factory.CreateCounter("openconnect_origin_license_keys_issued_total", "Keys handed out in granted licenses.");
    }

    public Counter KeysCreated { get; }

    public Counter LicenseRequests { get; }

    public Counter KeysIssued { get; }
}
