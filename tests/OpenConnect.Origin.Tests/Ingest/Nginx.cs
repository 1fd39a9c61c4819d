using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// nginx (Debian's <c>nginx-light</c>) as a round-robin load balancer on 127.0.0.1 in front of
/// the given upstreams, from a generated configuration in a temporary directory: request
/// bodies stream through unbuffered (as a large upload needs), a backend that refuses connections
/// is skipped. Stopped with its directory on dispose.
/// </summary>
public sealed class Nginx : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _directory;

    private Nginx(Process process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");

    public string ErrorLog => File.Exists(_directory.Combine("error.log")) ? File.ReadAllText(_directory.Combine("error.log")) : "";

    public static async Task<Nginx> StartAsync(params Uri[] upstreams)
    {
        var directory = new TempDirectory("oc-nginx");
        var port = RoleProcess.FreePort();
        var servers = string.Join("\n", upstreams.Select(u => $"        server {u.Host}:{u.Port.ToString(CultureInfo.InvariantCulture)} max_fails=1 fail_timeout=30s;"));
        var d = directory.Path;
        await File.WriteAllTextAsync(directory.Combine("nginx.conf"), $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{d}}/nginx.pid;
            error_log {{d}}/error.log warn;
            events { worker_connections 256; }
            http {
                access_log {{d}}/access.log;
                client_body_temp_path {{d}}/body;
                proxy_temp_path {{d}}/proxy;
                fastcgi_temp_path {{d}}/fastcgi;
                uwsgi_temp_path {{d}}/uwsgi;
                scgi_temp_path {{d}}/scgi;
                upstream origins {
            {{servers}}
                }
                server {
                    listen 127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}};
                    client_max_body_size 0;
                    location / {
                        proxy_pass http://origins;
                        proxy_http_version 1.1;
                        proxy_set_header Host $http_host;
                        proxy_request_buffering off;
                        proxy_buffering off;
                        proxy_next_upstream error timeout;
                        proxy_read_timeout 120s;
                        proxy_send_timeout 120s;
                    }
                }
            }
            """);
        var start = new ProcessStartInfo("nginx") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["-p", d, "-e", $"{d}/error.log", "-c", directory.Combine("nginx.conf")])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start nginx");
        var nginx = new Nginx(process, directory, port);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                var error = nginx.ErrorLog + await process.StandardError.ReadToEndAsync();
                await nginx.DisposeAsync();
                throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {error}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return nginx;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _directory.Dispose();
    }
}
