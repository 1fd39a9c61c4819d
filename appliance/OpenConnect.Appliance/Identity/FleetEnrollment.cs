using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Fleet.V1;

namespace OpenConnect.Appliance.Identity;

/// <summary>
/// Gives the appliance its fleet identity before anything talks to the control plane: loads the
/// key and certificate from the fleet directory, or on the first start enrolls with the one-time
/// code (CSR + code to steering's enrollment URL over TLS that checks steering's certificate against
/// the fleet CA). A missing, refused or mismatched identity stops the start with the reason (exit 2).
/// A standalone appliance (no control plane, no CA configured) has none, and so no control listener.
/// </summary>
public sealed class FleetEnrollment(IOptions<ApplianceOptions> options, TimeProvider time, ILogger<FleetEnrollment> logger) : IHostedService, IDisposable
{
    /// <summary>The appliance's credentials, or null when it runs without a control plane.</summary>
    public ApplianceCredentials? Credentials { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var appliance = options.Value;
        var fleet = appliance.Fleet;
        if (fleet.CaCertificateFile.Length == 0)
        {
            if (appliance.Steering.Enabled)
            {
                throw new InvalidOperationException("Appliance:Fleet:CaCertificateFile is required with a control plane (Appliance:Steering:Url or SrvName): the control plane takes fleet certificates only");
            }

            if (appliance.ControlUrl.Length > 0)
            {
                Control.ControlLog.NoControlListener(logger, $"the appliance has no fleet identity (Appliance:Fleet:CaCertificateFile is not set), so Appliance:ControlUrl {appliance.ControlUrl} is not opened: drain and prefetch take an operator's fleet certificate");
            }

            return;
        }

        var directory = fleet.ResolvedDirectory(appliance.Cache.Directory);
        var credentials = ApplianceCredentials.Open(directory, fleet.CaCertificateFile);
        Credentials = credentials;
        var current = credentials.Current;
        if (current is null || current.NotAfter.ToUniversalTime() <= time.GetUtcNow())
        {
            await EnrollAsync(credentials, fleet, current is null ? "no certificate yet" : $"certificate {current.SerialNumber} expired", cancellationToken).ConfigureAwait(false);
        }

        var expected = FleetIdentity.Appliance(appliance.Site, appliance.Id);
        if (credentials.Identity != expected)
        {
            throw new InvalidOperationException($"the fleet certificate in {credentials.CertificatePath} names {credentials.Identity?.ToString() ?? "no fleet identity"}, but Appliance:Id and Appliance:Site make {expected}");
        }

        IdentityLog.Loaded(logger, expected.ToString(), credentials.Current!.SerialNumber, credentials.Current.NotAfter.ToUniversalTime(), directory);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => Credentials?.Dispose();

    private async Task EnrollAsync(ApplianceCredentials credentials, FleetClientOptions fleet, string why, CancellationToken cancellationToken)
    {
        var code = fleet.EnrollmentCode;
        if (fleet.EnrollmentCodeFile.Length > 0)
        {
            if (!File.Exists(fleet.EnrollmentCodeFile))
            {
                throw new InvalidOperationException($"Appliance:Fleet:EnrollmentCodeFile '{fleet.EnrollmentCodeFile}' does not exist");
            }

            code = (await File.ReadAllTextAsync(fleet.EnrollmentCodeFile, cancellationToken).ConfigureAwait(false)).Trim();
        }

        if (fleet.EnrollUrl.Length == 0 || code.Length == 0)
        {
            throw new InvalidOperationException($"the appliance has {why} in {credentials.Directory}: set Appliance:Fleet:EnrollUrl and Appliance:Fleet:EnrollmentCodeFile (the one-time code an operator gets from POST /fleet/appliances on steering) to enroll");
        }

        using var channel = GrpcChannel.ForAddress(fleet.EnrollUrl, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = credentials.ClientOptions(FleetIdentity.Steering), ConnectTimeout = TimeSpan.FromSeconds(10) },
        });
        var client = new Enrollment.EnrollmentClient(channel);
        CertificateReply reply;
        try
        {
            reply = await client.EnrollAsync(new EnrollRequest { Code = code, CsrPem = credentials.CreateRequestPem(options.Value.Id) }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            var detail = ex.StatusCode == StatusCode.PermissionDenied ? ex.Status.Detail : $"{ex.StatusCode}: {ex.Status.Detail}{(ex.Status.DebugException is { } inner ? " (" + inner.Message + ")" : "")}";
            throw new InvalidOperationException($"enrollment at {fleet.EnrollUrl} failed: {detail}");
        }

        var certificate = credentials.Install(reply.CertificatePem, save: true);
        IdentityLog.Enrolled(logger, reply.Identity, certificate.SerialNumber, certificate.NotAfter.ToUniversalTime());
    }
}
