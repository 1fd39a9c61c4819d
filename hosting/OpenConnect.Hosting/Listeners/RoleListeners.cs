using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OpenConnect.Hosting;

/// <summary>Which of a role's listeners accepted a connection.</summary>
public enum ListenerKind
{
    /// <summary>The public endpoints from <c>urls</c> (players, uploads, parents).</summary>
    Data,

    /// <summary>The gRPC control plane (HTTP/2; TLS with client certificates when configured).</summary>
    Control,

    /// <summary><c>/healthz</c> and <c>/metrics</c> (<c>Management:Url</c>).</summary>
    Management,

    /// <summary>
    /// Parent pulls from other fleet members (TLS with a required fleet client certificate): only the
    /// role's <see cref="RoleListenerSpec.ParentPaths"/>, and the role decides who may pull what.
    /// </summary>
    Parent,
}

/// <summary>Set on every connection by the kit, so the request pipeline knows which listener it came through.</summary>
public sealed class ListenerKindFeature(ListenerKind kind)
{
    public ListenerKind Kind { get; } = kind;
}

/// <summary>How one role listens: its defaults and what differs between roles.</summary>
public sealed class RoleListenerSpec
{
    /// <summary>Data listeners unless <c>urls</c> says otherwise.</summary>
    public required string DefaultUrls { get; init; }

    /// <summary>The management listener unless <c>Management:Url</c> says otherwise (loopback).</summary>
    public required string DefaultManagementUrl { get; init; }

    /// <summary>Protocols of the data listeners.</summary>
    public HttpProtocols DataProtocols { get; init; } = HttpProtocols.Http1AndHttp2;

    /// <summary>
    /// An optional per-connection middleware on the data listeners (the appliance's segment server). On an
    /// <c>https://</c> listener it runs after Kestrel's TLS middleware, on the decrypted connection (the
    /// TLS feature, with the client certificate if any, is on the connection's features).
    /// </summary>
    public Func<IServiceProvider, Func<ConnectionDelegate, ConnectionDelegate>>? DataConnectionMiddleware { get; init; }

    /// <summary>The control listener's address from configuration; null or empty means the role has none.</summary>
    public Func<IConfiguration, string?>? ControlUrl { get; init; }

    /// <summary>
    /// Request path prefixes served on the control listener. When set, those paths answer only there
    /// and the control listener answers nothing else (404 both ways).
    /// </summary>
    public IReadOnlyList<string> ControlPaths { get; init; } = [];

    /// <summary>
    /// The role's own TLS for the control listener (steering's fleet CA, which issues its own server
    /// certificate); when set it replaces <c>ControlTls</c> and the control listener always uses TLS.
    /// </summary>
    public Action<ListenOptions>? ControlTls { get; init; }

    /// <summary>
    /// The parent listener's address from configuration; null or empty means the role has none. Only
    /// valid <c>https://</c> addresses are bound: the role's options validation must reject anything
    /// else, naming its setting, when the host starts.
    /// </summary>
    public Func<IConfiguration, string?>? ParentUrl { get; init; }

    /// <summary>
    /// TLS for the parent listener (the role's fleet certificate, client certificates required):
    /// always applied there, a parent listener never runs cleartext.
    /// </summary>
    public Action<ListenOptions>? ParentTls { get; init; }

    /// <summary>Request path prefixes the parent listener serves; anything else answers 404 there.</summary>
    public IReadOnlyList<string> ParentPaths { get; init; } = [];

    /// <summary>Protocols of the parent listener (offered by ALPN in its TLS handshake).</summary>
    public HttpProtocols ParentProtocols { get; init; } = HttpProtocols.Http1AndHttp2;

    /// <summary>
    /// An optional per-connection middleware on the parent listener, run after its TLS middleware on the
    /// decrypted connection (the appliance's segment server, as on its data listeners).
    /// </summary>
    public Func<IServiceProvider, Func<ConnectionDelegate, ConnectionDelegate>>? ParentConnectionMiddleware { get; init; }
}

/// <summary>
/// One listener wiring for every role: data listeners from <c>urls</c>, an optional control listener
/// (HTTP/2 for gRPC; TLS with a required client certificate when <c>ControlTls</c> is set), and the
/// management listener (<see cref="ManagementOptions"/>). Each connection is tagged with its
/// <see cref="ListenerKind"/>; <see cref="RoleListenersApplication.UseRoleListeners"/> keeps the listeners' paths apart.
/// Bound addresses are readable once the host started (port 0 becomes the port the kernel picked).
/// </summary>
public sealed partial class RoleListeners
{
    internal RoleListeners(RoleListenerSpec spec) => Spec = spec;

    public RoleListenerSpec Spec { get; }

    internal ListenOptions? ControlListen { get; set; }

    internal ListenOptions? ManagementListen { get; set; }

    internal ListenOptions? ParentListen { get; set; }

    /// <summary>Whether the role configured a parent listener.</summary>
    public bool HasParent => ParentListen is not null;

    /// <summary>The bound parent address, e.g. <c>https://127.0.0.1:8443</c> (always TLS).</summary>
    public Uri ParentAddress => new UriBuilder(ListenUrls.BoundAddress(ParentListen, "parent listener")) { Scheme = Uri.UriSchemeHttps }.Uri;

    /// <summary>Whether the role configured a control listener.</summary>
    public bool HasControl => ControlListen is not null;

    /// <summary>Whether the control listener requires TLS with client certificates.</summary>
    public bool ControlUsesTls { get; internal set; }

    /// <summary>The bound control address, e.g. <c>http://127.0.0.1:8280</c> (<c>https://</c> with TLS).</summary>
    public Uri ControlAddress
    {
        get
        {
            var address = ListenUrls.BoundAddress(ControlListen, "control listener");
            return ControlUsesTls ? new UriBuilder(address) { Scheme = Uri.UriSchemeHttps }.Uri : address;
        }
    }

    /// <summary>The bound control port, or 0 before start.</summary>
    public int ControlPort => ControlListen?.IPEndPoint?.Port ?? 0;

    /// <summary>The bound management address, e.g. <c>http://127.0.0.1:9400</c>.</summary>
    public Uri ManagementAddress => ListenUrls.BoundAddress(ManagementListen, "management listener");

    /// <summary>Registers the listeners of a role built with <see cref="RoleHost.CreateBuilder"/>.</summary>
    public static RoleListeners Add(WebApplicationBuilder builder, RoleListenerSpec spec)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["urls"] = spec.DefaultUrls, ["Management:Url"] = spec.DefaultManagementUrl },
        });
        var listeners = new RoleListeners(spec);
        builder.Services.AddSingleton(listeners);
        builder.Services.AddRoleOptions<ManagementOptions>(builder.Configuration);
        builder.Services.AddRoleOptions<ControlTlsOptions>(builder.Configuration);
        builder.Services.TryAddSingleton<IControlClientCertificateValidator, CaChainClientCertificateValidator>();
        builder.Services.AddHostedService<BoundAddressLogger>();
        listeners.AddCertificateReloads(builder.Services);
        builder.WebHost.ConfigureKestrel((context, kestrel) => listeners.Configure(context.Configuration, kestrel));
        return listeners;
    }

    private void Configure(IConfiguration configuration, KestrelServerOptions kestrel)
    {
        foreach (var url in ListenUrls.Parse(configuration["urls"] ?? Spec.DefaultUrls))
        {
            ListenUrls.Listen(kestrel, url, listen =>
            {
                listen.Protocols = Spec.DataProtocols;
                Tag(listen, ListenerKind.Data);

                // Connection middleware runs in the order added: TLS first, so the role's middleware reads plaintext.
                if (url.Scheme == Uri.UriSchemeHttps)
                {
                    UseContentHttps(listen, configuration);
                }

                if (Spec.DataConnectionMiddleware is { } middleware)
                {
                    listen.Use(middleware(listen.ApplicationServices));
                }
            });
        }

        // Kestrel's listeners are set up when the host is built, before options validation at start:
        // check the kit's own settings here, with the same messages.
        var management = ListenUrls.Parse(Checked<ManagementOptions>(configuration).Url, "Management:Url")[0];
        ListenUrls.Listen(kestrel, management, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            Tag(listen, ListenerKind.Management);
            ManagementListen = listen;
        });

        var parent = Spec.ParentUrl?.Invoke(configuration);
        if (!string.IsNullOrEmpty(parent) && ListenUrls.TryParse(parent) is { Problem: null } parentUrls && parentUrls.Urls.All(u => u.Uri.Scheme == Uri.UriSchemeHttps))
        {
            var parentTls = Spec.ParentTls ?? throw new InvalidOperationException("the role has a parent URL but no TLS for its parent listener");
            foreach (var url in parentUrls.Urls)
            {
                ListenUrls.Listen(kestrel, url, listen =>
                {
                    listen.Protocols = Spec.ParentProtocols;
                    Tag(listen, ListenerKind.Parent);
                    parentTls(listen);
                    if (Spec.ParentConnectionMiddleware is { } middleware)
                    {
                        listen.Use(middleware(listen.ApplicationServices));
                    }

                    ParentListen = listen;
                });
            }
        }

        var control = Spec.ControlUrl?.Invoke(configuration);
        if (string.IsNullOrEmpty(control))
        {
            return;
        }

        var tls = Checked<ControlTlsOptions>(configuration);
        foreach (var url in ListenUrls.Parse(control, "control URL"))
        {
            ListenUrls.Listen(kestrel, url, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                Tag(listen, ListenerKind.Control);
                if (Spec.ControlTls is { } roleTls)
                {
                    roleTls(listen);
                    ControlUsesTls = true;
                }
                else if (tls.IsConfigured)
                {
                    UseClientCertificateTls(listen, tls);
                    ControlUsesTls = true;
                }

                ControlListen = listen;
            });
        }
    }

    private static T Checked<T>(IConfiguration configuration)
        where T : class, IRoleOptions<T>, new()
    {
        var options = RoleOptionsRegistration.BindOrDefaults<T>(configuration);
        var check = new OptionsCheck(T.SectionName);
        options.Validate(check);
        return check.Errors.Count == 0 ? options : throw new OptionsValidationException(T.SectionName, typeof(T), check.Errors);
    }

    private static void Tag(ListenOptions listen, ListenerKind kind)
    {
        var feature = new ListenerKindFeature(kind);
        listen.Use(next => connection =>
        {
            connection.Features.Set(feature);
            return next(connection);
        });
    }

    /// <summary>Logs the bound management and control addresses once the server listens (process tests read them).</summary>
    private sealed partial class BoundAddressLogger(RoleListeners listeners, Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, ILogger<RoleListeners> logger) : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() =>
            {
                ManagementListening(logger, listeners.ManagementAddress);
                if (listeners.HasParent)
                {
                    ParentListening(logger, listeners.ParentAddress);
                }

                if (listeners.HasControl)
                {
                    ControlListening(logger, listeners.ControlAddress, listeners.ControlUsesTls ? "TLS with client certificates" : "cleartext HTTP/2");
                }
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "management listening on {Address}")]
        private static partial void ManagementListening(ILogger logger, Uri address);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "control listening on {Address} ({Security})")]
        private static partial void ControlListening(ILogger logger, Uri address, string security);

        [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "parent listening on {Address} (TLS with fleet client certificates)")]
        private static partial void ParentListening(ILogger logger, Uri address);
    }
}

public static class RoleListenersApplication
{
    /// <summary>
    /// Keeps the listeners' paths apart: <c>/healthz</c> and <c>/metrics</c> only on the management
    /// listener, which serves nothing else; the control paths (when the role names them) only on the
    /// control listener, which serves nothing else; the parent listener only its parent paths.
    /// Everything else answers 404 where it does not belong.
    /// </summary>
    public static WebApplication UseRoleListeners(this WebApplication app)
    {
        var listeners = app.Services.GetRequiredService<RoleListeners>();
        app.Use((context, next) =>
        {
            var kind = context.Features.Get<ListenerKindFeature>()?.Kind ?? ListenerKind.Data;
            var path = context.Request.Path;
            var isManagement = path.Equals(RoleHost.HealthPath, StringComparison.Ordinal) || path.Equals(RoleHost.MetricsPath, StringComparison.Ordinal);
            if (isManagement != (kind == ListenerKind.Management))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            if (kind == ListenerKind.Parent && !IsUnder(listeners.Spec.ParentPaths, path))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            if (listeners.Spec.ControlPaths.Count > 0 && !isManagement && IsUnder(listeners.Spec.ControlPaths, path) != (kind == ListenerKind.Control))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        return app;
    }

    private static bool IsUnder(IReadOnlyList<string> prefixes, PathString path)
    {
        foreach (var prefix in prefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
