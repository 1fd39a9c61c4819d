using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OpenConnect.Hosting;

/// <summary>The kit's TLS server certificates, read per handshake and read again on a reload.</summary>
public sealed partial class RoleListeners
{
    /// <summary>Where the data listeners' HTTPS certificate is configured (Kestrel's own setting names).</summary>
    public const string ContentCertificateSection = "Kestrel:Certificates:Default";

    private readonly object _certificatesGate = new();

    /// <summary>The data listeners' certificate from <see cref="ContentCertificateSection"/>; null without one (Kestrel's development certificate) or before the listeners are set up.</summary>
    public ServerCertificateHolder? ContentCertificate { get; private set; }

    /// <summary>The control listener's certificate from <c>ControlTls</c>; null when it has none.</summary>
    public ServerCertificateHolder? ControlCertificate { get; private set; }

    private ServerCertificateHolder? ControlAuthority { get; set; }

    /// <summary>Registers the listeners' certificates for <see cref="ConfigurationReloader"/>: the files are read again on every reload (their paths need a restart).</summary>
    private void AddCertificateReloads(IServiceCollection services)
    {
        services.AddSingleton<IReloadable>(new ListenerCertificateReload($"content TLS certificate ({ContentCertificateSection})", () => ContentCertificate));
        services.AddSingleton<IReloadable>(new ListenerCertificateReload("control TLS certificate (ControlTls:CertificateFile)", () => ControlCertificate));
        services.AddSingleton<IReloadable>(new ListenerCertificateReload("control client CA (ControlTls:CaCertificateFile)", () => ControlAuthority));
    }

    /// <summary>HTTPS on a data listener: the configured certificate chosen per handshake, or Kestrel's default when none is configured.</summary>
    private void UseContentHttps(ListenOptions listen, IConfiguration configuration)
    {
        var section = configuration.GetSection(ContentCertificateSection);
        var path = section["Path"];
        if (string.IsNullOrEmpty(path))
        {
            listen.UseHttps();
            return;
        }

        lock (_certificatesGate)
        {
            var keyPath = section["KeyPath"];
            var password = section["Password"];
            ContentCertificate ??= new ServerCertificateHolder(
                $"content TLS certificate ({ContentCertificateSection})",
                () => ServerCertificateHolder.LoadFiles($"{ContentCertificateSection}:Path", path, keyPath, password));
        }

        var holder = ContentCertificate;
        listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificateSelector = (_, _) => holder.Current });
    }

    private void UseClientCertificateTls(ListenOptions listen, ControlTlsOptions tls)
    {
        lock (_certificatesGate)
        {
            ControlCertificate ??= new ServerCertificateHolder(
                "control TLS certificate (ControlTls:CertificateFile)",
                () => ServerCertificateHolder.LoadFiles("ControlTls:CertificateFile", tls.CertificateFile, tls.KeyFile, password: null));
            ControlAuthority ??= new ServerCertificateHolder(
                "control client CA (ControlTls:CaCertificateFile)",
                () => FleetTlsCredentials.LoadAuthority(tls.CaCertificateFile, "ControlTls:CaCertificateFile"));
        }

        var server = ControlCertificate;
        var ca = ControlAuthority;
        var validator = listen.ApplicationServices.GetRequiredService<IControlClientCertificateValidator>();
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => server.Current,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (certificate, chain, errors) => validator.Validate(certificate, chain, errors, ca.Current),
        });
    }

    /// <summary>A listener certificate for the reloader, once the listener that uses it is set up (nothing to do otherwise).</summary>
    private sealed class ListenerCertificateReload(string name, Func<ServerCertificateHolder?> holder) : IReloadable
    {
        public string Name { get; } = name;

        public bool Reload() => holder()?.Reload() ?? false;
    }
}
