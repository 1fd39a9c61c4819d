using Grpc.Core;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Fleet.V1;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// Issues appliance certificates: <c>Enroll</c> (enrollment listener) trades a one-time code and a
/// CSR for a certificate naming the appliance the operator added with that code; <c>Renew</c>
/// (control listener, mutual TLS) gives the caller a fresh certificate for the identity it already holds
/// (appliances, and services such as the fill controller, which renews its own in place).
/// </summary>
public sealed class EnrollmentService(FleetState fleet, ILogger<EnrollmentService> logger) : Enrollment.EnrollmentBase
{
    public override Task<CertificateReply> Enroll(EnrollRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Code) || string.IsNullOrWhiteSpace(request.CsrPem))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "code and csr_pem are required"));
        }

        string? pem = null;
        try
        {
            var identity = fleet.Enrollments.Redeem(request.Code.Trim(), identity =>
            {
                using var certificate = fleet.Authority.IssueFromRequest(request.CsrPem, identity, fleet.Options.CertificateLifetime);
                pem = certificate.ExportCertificatePem();
                FleetLog.Enrolled(logger, identity.ToString(), certificate.SerialNumber, certificate.NotAfter.ToUniversalTime());
                return certificate.SerialNumber;
            });
            return Task.FromResult(new CertificateReply { CertificatePem = pem, AuthorityPem = fleet.Authority.CertificatePem, Identity = identity.ToString() });
        }
        catch (FleetRequestException ex)
        {
            FleetLog.EnrollmentRefused(logger, context.Peer, ex.Message);
            throw new RpcException(new Status(StatusCode.PermissionDenied, ex.Message));
        }
    }

    public override Task<CertificateReply> Renew(RenewRequest request, ServerCallContext context)
    {
        var caller = FleetCaller.Of(context.GetHttpContext());
        if (caller is null || caller.Role == FleetRole.Steering)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "renewal needs a fleet client certificate"));
        }

        try
        {
            using var certificate = fleet.Authority.IssueFromRequest(request.CsrPem, caller, fleet.Options.CertificateLifetime);
            if (caller.Role == FleetRole.Appliance)
            {
                fleet.Enrollments.Issued(caller.Name, certificate.SerialNumber);
            }

            FleetLog.Renewed(logger, caller.ToString(), certificate.SerialNumber, certificate.NotAfter.ToUniversalTime());
            return Task.FromResult(new CertificateReply { CertificatePem = certificate.ExportCertificatePem(), AuthorityPem = fleet.Authority.CertificatePem, Identity = caller.ToString() });
        }
        catch (FleetRequestException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
    }
}
