using System.Security.Cryptography;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>A real appliance (in-process, real sockets, real files) in front of a real test parent.</summary>
public sealed class ApplianceHarness : IAsyncDisposable
{
    private ApplianceHarness(TestParent parent, RunningRole appliance, TempDirectory state)
    {
        Parent = parent;
        Appliance = appliance;
        State = state;
    }

    /// <summary>Lets loopback clients fetch unsigned <c>/v/…</c> paths, as peers and fill do.</summary>
    public const string UnsignedLoopback = "--Appliance:UnsignedNetworks:0=127.0.0.0/8";

    /// <summary>The test-only setting that lets an appliance start without integrity keys (the test parent publishes no signed manifests).</summary>
    public const string AllowUnsignedContent = "--Appliance:Upstream:AllowUnsignedContent=true";

    public TestParent Parent { get; }

    public RunningRole Appliance { get; }

    public TempDirectory State { get; }

    public Uri BaseAddress => Appliance.BaseAddress;

    public static Task<ApplianceHarness> StartAsync(params string[] settings) => StartWithParentsAsync([], settings);

    /// <summary>Starts with <paramref name="parentsBefore"/> tried first and the harness's own parent last.</summary>
    public static async Task<ApplianceHarness> StartWithParentsAsync(IReadOnlyList<string> parentsBefore, params string[] settings)
    {
        var parent = await TestParent.StartAsync();
        var state = new TempDirectory("openconnect-appliance");
        var parents = parentsBefore.Append(parent.BaseAddress.ToString()).Select((p, i) => $"--Appliance:Parents:{i}={p}");
        string[] all =
        [
            $"--Appliance:Cache:Directory={state.Path}",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            // The tests play the peer role and fetch unsigned /v/ paths; players' tokens are tested in Control/.
            UnsignedLoopback,
            AllowUnsignedContent,
            .. parents,
            "--Appliance:Cache:RamBytes=33554432",
            "--Appliance:Cache:SsdBytes=268435456",
            .. settings,
        ];
        var appliance = await RunningRole.StartAsync(ApplianceHost.Build, all);
        return new ApplianceHarness(parent, appliance, state);
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    public Task<RawHttp> ConnectAsync() => RawHttp.ConnectAsync(BaseAddress);

    public async Task<PrometheusText.Document> MetricsAsync()
    {
        using var client = Appliance.CreateManagementClient();
        return PrometheusText.Parse(await client.GetStringAsync("/metrics"));
    }

    public async Task<double> MetricAsync(string name, params (string, string)[] labels) => (await MetricsAsync()).Value(name, labels) ?? 0;

    public async ValueTask DisposeAsync()
    {
        await Appliance.DisposeAsync();
        await Parent.DisposeAsync();
        State.Dispose();
    }

    /// <summary>
    /// Starts an appliance on <paramref name="cacheDirectory"/> (kept across restarts by the caller) with
    /// SSD policy <paramref name="policy"/>, 4 MiB of RAM and 64 MiB of SSD, pulling from <paramref name="parent"/>.
    /// </summary>
    public static Task<RunningRole> StartWithPolicyAsync(string cacheDirectory, Uri parent, string policy) => RunningRole.StartAsync(
        ApplianceHost.Build,
        $"--Appliance:Cache:Directory={cacheDirectory}",
        "--Appliance:ControlUrl=https://127.0.0.1:0",
        UnsignedLoopback,
        AllowUnsignedContent,
        $"--Appliance:Parents:0={parent}",
        "--Appliance:Cache:RamBytes=4194304",
        "--Appliance:Cache:SsdBytes=67108864",
        $"--Appliance:Cache:Policy={policy}");
}
