using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Fleet.V1;

namespace OpenConnect.FillController.Fleet;

/// <summary>
/// Renews the fill controller's certificate in place once two thirds of its lifetime have passed:
/// a CSR for the same key to steering's <c>Enrollment.Renew</c> on its control listener (mutual TLS
/// with the current certificate), the new certificate written to <c>FillController:Fleet:CertificateFile</c>
/// (temp file, then rename) and used by every new connection, no restart. A failed attempt is
/// logged and tried again after <c>FillController:Fleet:RenewRetryInterval</c>.
/// Timed on the wall clock certificates are checked against (<see cref="FleetCredentials.Trust"/>
/// uses the system clock), not on the host's <see cref="TimeProvider"/>, which schedules fill
/// windows and which tests move by hours.
/// </summary>
public sealed partial class CertificateRenewal(FleetCredentials credentials, IOptions<FillControllerOptions> options, ILogger<CertificateRenewal> logger) : BackgroundService
{
    private readonly TimeProvider _clock = TimeProvider.System;

    private static readonly TimeSpan LongestWait = TimeSpan.FromHours(1);

    private int _renewals;

    /// <summary>Renewals that succeeded since start.</summary>
    public int Renewals => Volatile.Read(ref _renewals);

    /// <summary>When the current certificate is due for renewal (two thirds into its lifetime).</summary>
    public DateTimeOffset DueAt
    {
        get
        {
            var certificate = credentials.Current;
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
            return notBefore + ((notAfter - notBefore) * 2 / 3);
        }
    }

    /// <summary>One renewal now: asks steering, installs the certificate. Throws on failure.</summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        var url = options.Value.Fill.SteeringControlUrl;
        using var channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = credentials.CreateHandler(FleetIdentity.Steering) });
        CertificateReply reply;
        try
        {
            reply = await new Enrollment.EnrollmentClient(channel)
                .RenewAsync(new RenewRequest { CsrPem = credentials.CreateRequestPem() }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            var detail = ex.Status.DebugException is { } inner ? $"{ex.Status.Detail} ({inner.GetBaseException().Message})" : ex.Status.Detail;
            throw new InvalidOperationException($"steering's Renew at {url} failed: {ex.StatusCode}: {detail}", ex);
        }

        var certificate = credentials.Install(reply.CertificatePem);
        Interlocked.Increment(ref _renewals);
        Renewed(logger, certificate.SerialNumber, certificate.NotAfter.ToUniversalTime(), credentials.CertificateFile);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = DueAt - _clock.GetUtcNow();
            if (wait <= TimeSpan.Zero)
            {
                try
                {
                    await RenewAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
                {
                    wait = options.Value.Fleet.RenewRetryInterval;
                    RenewalFailed(logger, credentials.Current.NotAfter.ToUniversalTime(), wait, ex.Message);
                }
            }

            try
            {
                await Task.Delay(wait < LongestWait ? wait : LongestWait, _clock, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Fleet certificate renewed: serial {Serial}, valid until {NotAfter:u}, written to {File}")]
    private static partial void Renewed(ILogger logger, string serial, DateTime notAfter, string file);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Renewing the fleet certificate (valid until {NotAfter:u}) failed, retrying in {Retry}: {Reason}")]
    private static partial void RenewalFailed(ILogger logger, DateTime notAfter, TimeSpan retry, string reason);
}
