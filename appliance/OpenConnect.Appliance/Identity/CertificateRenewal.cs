using Grpc.Core;
using OpenConnect.Contracts.Fleet.V1;

namespace OpenConnect.Appliance.Identity;

/// <summary>
/// Renews the appliance's certificate over the control plane's mutual-TLS connection once two thirds
/// of its lifetime have passed (same key, a new CSR), retrying at <see cref="FleetClientOptions.RenewRetryInterval"/>
/// after a failure. The control-plane client calls it on each round and reconnects with the new
/// certificate when <see cref="ApplianceCredentials.Version"/> changes.
/// </summary>
public sealed class CertificateRenewal(ApplianceCredentials credentials, string applianceId, TimeSpan retryInterval, TimeProvider time, ILogger logger)
{
    private DateTimeOffset _nextAttempt;

    /// <summary>Renewals that succeeded since start.</summary>
    public int Renewals { get; private set; }

    /// <summary>When the current certificate is due for renewal.</summary>
    public DateTimeOffset DueAt
    {
        get
        {
            var certificate = credentials.Current!;
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
            return notBefore + ((notAfter - notBefore) * 2 / 3);
        }
    }

    public async Task RenewIfDueAsync(CallInvoker invoker, DateTime deadline, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (credentials.Current is null || now < DueAt || now < _nextAttempt)
        {
            return;
        }

        _nextAttempt = now + retryInterval;
        try
        {
            var reply = await new Enrollment.EnrollmentClient(invoker)
                .RenewAsync(new RenewRequest { CsrPem = credentials.CreateRequestPem(applianceId) }, deadline: deadline, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            var certificate = credentials.Install(reply.CertificatePem, save: true);
            Renewals++;
            IdentityLog.Renewed(logger, reply.Identity, certificate.SerialNumber, certificate.NotAfter.ToUniversalTime());
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
        {
            IdentityLog.RenewalFailed(logger, credentials.Current?.NotAfter.ToUniversalTime() ?? default, ex.Message);
        }
    }
}
