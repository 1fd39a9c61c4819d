using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// The whole stack as a person meets it: an origin with the real pipeline (ffmpeg, a small fast
/// ladder) serving the built web app from <c>web/dist</c>, steering (loopback in site <c>local</c>)
/// and two appliances as real processes. Nothing is published up front: titles arrive through the
/// upload page.
/// </summary>
public sealed class WebStack : IAsyncDisposable
{
    private WebStack(TempDirectory state, RunningRole origin, RunningRole steering, List<ApplianceChild> appliances)
    {
        State = state;
        Origin = origin;
        Steering = steering;
        Appliances = appliances;
    }

    public TempDirectory State { get; }

    public RunningRole Origin { get; }

    public RunningRole Steering { get; }

    public IReadOnlyList<ApplianceChild> Appliances { get; }

    public static string RepositoryRoot => Path.GetFullPath(Path.Combine(PlayerScript.NodeDirectory(), "..", ".."));

    public static async Task<WebStack> StartAsync()
    {
        var webDirectory = Path.Combine(RepositoryRoot, "web", "dist");
        if (!File.Exists(Path.Combine(webDirectory, "index.html")))
        {
            throw new InvalidOperationException($"the web app is not built ({webDirectory}/index.html is missing): run cd web && npm ci && npm run build (./test.sh does)");
        }

        var state = new TempDirectory("openconnect-web");
        var key = Ed25519SigningKey.LoadOrCreate(state.Combine("steering", "keys", "steering-signing.key"));
        var steeringPort = ApplianceChild.FreePort();
        var origin = await RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={state.Combine("origin")}",
            $"--Origin:PlaybackKeys:0={key.PublicKey}",
            $"--Origin:Web:Directory={webDirectory}",
            $"--Origin:Web:SteeringUrl=http://127.0.0.1:{steeringPort}",
            "--Origin:Pipeline:MaxHeight=360",
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=12",
            "--Origin:Catalog:PasswordIterations=10000",
            "--Logging:LogLevel:Default=Warning");

        Directory.CreateDirectory(state.Combine("steering", "prefixes"));
        await File.WriteAllTextAsync(state.Combine("steering", "prefixes", "local.prefixes"), "127.0.0.0/8\n::1/128\n");
        var steering = await RunningRole.StartAsync(
            SteeringHost.Build,
            "--urls", $"http://127.0.0.1:{steeringPort}",
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=http://127.0.0.1:0",
            $"--Steering:OriginUrl={origin.BaseAddress.ToString().TrimEnd('/')}",
            "--Logging:LogLevel:Default=Warning");
        var control = steering.Services.GetRequiredService<ControlEndpoint>().Address;

        var children = new List<ApplianceChild>();
        var stack = new WebStack(state, origin, steering, children);
        try
        {
            for (var i = 1; i <= 2; i++)
            {
                children.Add(await ApplianceChild.StartAsync(
                    $"oca-{i}",
                    [
                        "--Appliance:Site=local",
                        $"--Appliance:Cache:Directory={state.Combine($"oca-{i}")}",
                        "--Appliance:Cache:RamBytes=67108864",
                        "--Appliance:Cache:SsdBytes=268435456",
                        $"--Appliance:Parents:0={origin.BaseAddress}",
                        $"--Appliance:Steering:Url={control}",
                        $"--Appliance:PlaybackKeys:0={key.PublicKey}",
                    ]));
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var appliance in Appliances)
        {
            await appliance.DisposeAsync();
        }

        await Steering.DisposeAsync();
        await Origin.DisposeAsync();
        State.Dispose();
    }
}
