using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Bench.Throughput;

/// <summary>
/// nginx as the reference server and as the appliance's parent: one process (<c>master_process off</c>,
/// so the CPU of that pid is all of nginx), sendfile on, tcp_nopush on, access log off, no open-file
/// cache (the appliance opens each SSD object per request too), pinned to core 0. With a certificate it
/// also serves the same files over TLS 1.3 with one pinned cipher suite on a second port.
/// </summary>
internal sealed class NginxServer : IAsyncDisposable
{
    private NginxServer(ChildProcess process, int port, int? tlsPort, string prefix)
    {
        Process = process;
        Port = port;
        TlsPort = tlsPort;
        Prefix = prefix;
    }

    public ChildProcess Process { get; }

    public int Port { get; }

    /// <summary>The HTTPS port, when started with a certificate.</summary>
    public int? TlsPort { get; }

    public string Prefix { get; }

    public static async Task<NginxServer> StartAsync(ToolPaths tools, string prefix, string wwwRoot, TlsSetup? tls, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(prefix);
        var port = FreePort();
        int? tlsPort = null;
        if (tls is not null)
        {
            var other = FreePort();
            while (other == port)
            {
                other = FreePort();
            }

            tlsPort = other;
        }

        var config = Path.Combine(prefix, "nginx.conf");
        var (_, version) = await ChildProcess.RunAsync(tools.Nginx, ["-V"], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(config, Config(prefix, wwwRoot, port, version, tls, tlsPort, tools.EffectiveOpenFiles), cancellationToken).ConfigureAwait(false);
        var (file, args) = tools.OnCore(0, tools.Nginx, ["-p", prefix + "/", "-c", config, "-e", Path.Combine(prefix, "error.log")]);
        var process = ChildProcess.Start(file, args);
        var server = new NginxServer(process, port, tlsPort, prefix);
        try
        {
            await HttpProbe.WaitUntilAsync(process, $"http://127.0.0.1:{port}/v/bench/720p/seg-00001.m4s", "nginx", cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Config(string prefix, string wwwRoot, int port, string buildInfo, TlsSetup? tls, int? tlsPort, long openFiles)
    {
        // TLS 1.3 only, one cipher suite: the HTTPS case compares both servers on the same handshake and record cipher.
        var https = tls is null ? "" : string.Create(CultureInfo.InvariantCulture, $$"""
                server {
                    listen 127.0.0.1:{{tlsPort}} ssl;
                    ssl_certificate {{tls.CertificatePath}};
                    ssl_certificate_key {{tls.KeyPath}};
                    ssl_protocols {{TlsSetup.Protocol}};
                    ssl_conf_command Ciphersuites {{TlsSetup.CipherSuite}};
                    root {{wwwRoot}};
                    location / { }
                }

            """);
        // Temp paths for the modules this build has, so nothing is written under /var/lib/nginx.
        var temps = string.Concat(new[] { "fastcgi", "uwsgi", "scgi" }
            .Where(m => !buildInfo.Contains($"--without-http_{m}_module", StringComparison.Ordinal))
            .Select(m => $"    {m}_temp_path {prefix}/{m}_temp;\n"));
        return string.Create(CultureInfo.InvariantCulture, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            worker_rlimit_nofile {{openFiles}};
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events {
                worker_connections 16384;
                use epoll;
            }
            http {
                default_type application/octet-stream;
                access_log off;
                sendfile on;
                tcp_nopush on;
                tcp_nodelay on;
                keepalive_requests 1000000;
                keepalive_timeout 65s;
                # The memory check holds connections open without a request for a few seconds; the appliance waits as long.
                client_header_timeout 300s;
                open_file_cache off;
                client_body_temp_path {{prefix}}/client_body_temp;
                proxy_temp_path {{prefix}}/proxy_temp;
            {{temps}}    server {
                    listen 127.0.0.1:{{port}};
                    root {{wwwRoot}};
                    location / { }
                }
            {{https}}}

            """);
    }
}
