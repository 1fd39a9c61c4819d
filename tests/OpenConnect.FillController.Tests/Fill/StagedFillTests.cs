using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.State;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// Staged copies on a real fill controller and steering (mutual TLS), the appliances played by
/// gRPC clients holding their fleet certificates: a file planned on two appliances of a site that
/// neither holds goes out to one of them; the other copy is held back (counted pending, not in its
/// manifest) until the first is DONE, then reissued with that appliance's parent listener first.
/// A failed or late first copy releases the held one with the origin as its source.
/// </summary>
public sealed class StagedFillTests
{
    private const string NoOrigin = "http://127.0.0.1:9";
    private const string OriginParent = "https://127.0.0.1:8143";
    private static readonly FileId File1 = new("t1", "r0");

    [Fact]
    public async Task TheSecondCopy_IsHeldUntilTheFirstIsDone_ThenIssuedWithThatPeersParentListenerFirst()
    {
        await using var site = await Site.StartAsync($"--FillController:Fill:OriginParentUrl={OriginParent}");
        var (first, second) = await site.OpenAsync();

        var firstFiles = (await first.ManifestAsync()).Files;
        Assert.Equal([OriginParent], Assert.Single(firstFiles).Sources);
        var held = await second.ManifestAsync();
        Assert.Empty(held.Files);
        var copies = await site.CopiesAsync();
        Assert.Equal((2, 0, 1), (copies.Planned, copies.Complete, copies.Held));

        // A poll that is not a DONE report (nothing reported, or only demand) releases nothing.
        Assert.Equal(held.Version, (await second.ManifestAsync()).Version);

        Assert.True(await first.ReportAsync(FileState.Done));
        var released = await second.ManifestAsync();
        Assert.True(released.Version > held.Version);
        Assert.Equal([first.ParentUrl, OriginParent], Assert.Single(released.Files).Sources);
        copies = await site.CopiesAsync();
        Assert.Equal((2, 1, 0), (copies.Planned, copies.Complete, copies.Held));

        // The first appliance's manifest was not reissued: its report on it stays current.
        Assert.Equal(firstFiles.Count, (await first.ManifestAsync()).Files.Count);
        Assert.True(await second.ReportAsync(FileState.Done, released.Version));
        copies = await site.CopiesAsync();
        Assert.Equal((2, 2, 0), (copies.Planned, copies.Complete, copies.Held));
    }

    [Fact]
    public async Task TwoAppliances_FillANewFile_OnceFromTheOrigin_AndOnceFromThePeersParentListener_OverFleetTls()
    {
        var title = new SyntheticTitle("t1", ["r0"], 5, 60_000, 21);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        var plan = new FixedPlan();
        plan.Set(("oca-1", [File1]), ("oca-2", [File1]));
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan);
        // No unsigned networks: the data ports refuse unsigned pulls, the parent listeners (fleet TLS) are the only way between peers.
        string[] Settings(string id) => [.. stack.ApplianceSettings(id, "isp1", "--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:0")
            .Where(s => !s.StartsWith("--Appliance:UnsignedNetworks", StringComparison.Ordinal))];
        var appliances = new Dictionary<string, RunningRole>(StringComparer.Ordinal);
        foreach (var id in new[] { "oca-1", "oca-2" })
        {
            appliances[id] = stack.Own(await RunningRole.StartAsync(OpenConnect.Appliance.ApplianceHost.Build, Settings(id)));
            await stack.WaitForRosterAsync(id);
        }

        await stack.OpenNowAsync();
        await Eventually.TrueAsync(async () => (await stack.StatusAsync()).GetProperty("titles")[0].GetProperty("copiesComplete").GetInt32() == 2, "both copies complete", TimeSpan.FromSeconds(60));

        // Each object crossed from the origin once; the second copy names its peer's parent listener (https) first.
        Assert.All(title.FilePaths("r0"), path => Assert.Equal(1, origin.RequestsFor(path)));
        var sources = appliances.Keys.ToDictionary(id => id, id => Assert.Single(ManifestCodec.Decode(File.ReadAllBytes(Path.Combine(stack.State.Combine(id), "fill", "manifest.bin"))).Files).Sources.ToList());
        var second = Assert.Single(sources, s => s.Value.Count == 2).Key;
        var first = appliances.Keys.Single(id => id != second);
        var peer = appliances[first].Services.GetRequiredService<RoleListeners>().ParentAddress;
        Assert.Equal("https", peer.Scheme);
        Assert.Equal([peer.GetLeftPart(UriPartial.Authority), origin.BaseAddress.ToString().TrimEnd('/')], sources[second]);
        Assert.Equal([origin.BaseAddress.ToString().TrimEnd('/')], sources[first]);
        var metrics = await appliances[second].MetricsAsync();
        Assert.Equal(0, metrics.Value("openconnect_appliance_fill_source_failures_total", ("reason", "error")) ?? 0);
        // Every object of the file (and the title's integrity manifest) from the peer's parent listener, nothing from the origin.
        var objectBytes = title.FilePaths("r0").Sum(p => (double)title.Objects[p[$"/v/{title.Title}/".Length..]].Length);
        Assert.True(metrics.Value("openconnect_appliance_fill_source_bytes_total", ("source", peer.GetLeftPart(UriPartial.Authority))) >= objectBytes, $"less than the file's {objectBytes} bytes came from the peer");
        Assert.Null(metrics.Value("openconnect_appliance_fill_source_bytes_total", ("source", origin.BaseAddress.ToString().TrimEnd('/'))));
    }

    [Fact]
    public async Task AFailedFirstCopy_ReleasesTheHeldCopy_FromTheOrigin()
    {
        await using var site = await Site.StartAsync();
        var (first, second) = await site.OpenAsync();
        Assert.Empty((await second.ManifestAsync()).Files);

        Assert.True(await first.ReportAsync(FileState.Failed));
        var released = await second.ManifestAsync();
        Assert.Equal([NoOrigin], Assert.Single(released.Files).Sources);
        var copies = await site.CopiesAsync();
        Assert.Equal((2, 0, 1, 0), (copies.Planned, copies.Complete, copies.Failed, copies.Held));
    }

    [Fact]
    public async Task AFirstCopyNotDoneWithinTheHoldShareOfTheWindow_ReleasesTheHeldCopy_FromTheOrigin()
    {
        // Opened at noon with a 4 h window: held for at most half of it, 2 h.
        await using var site = await Site.StartAsync("--FillController:Fill:HoldShare=0.5");
        var (first, second) = await site.OpenAsync();

        await site.Stack.MoveClockToAsync(FillStack.Noon.AddMinutes(119));
        Assert.Empty((await second.ManifestAsync()).Files);
        Assert.Equal(1, (await site.CopiesAsync()).Held);

        await site.Stack.MoveClockToAsync(FillStack.Noon.AddMinutes(121));
        var released = await second.ManifestAsync();
        Assert.Equal([NoOrigin], Assert.Single(released.Files).Sources);
        Assert.Equal(0, (await site.CopiesAsync()).Held);

        // The late first copy completing afterwards changes nothing for the released one.
        Assert.True(await first.ReportAsync(FileState.Done));
        Assert.Equal(released.Version, (await second.ManifestAsync()).Version);
    }

    [Fact]
    public async Task AFileAPeerOfTheSiteAlreadyHolds_GoesOutToEveryApplianceAtOnce_PeerFirst()
    {
        await using var site = await Site.StartAsync();
        var (first, second) = await site.OpenAsync();
        Assert.True(await first.ReportAsync(FileState.Done));
        Assert.True(await second.ReportAsync(FileState.Done, (await second.ManifestAsync()).Version));

        // Opened again with a third appliance planned: both holders are ranked, nothing is held.
        var third = await site.AddApplianceAsync("a3");
        site.Plan.Set(("a1", [File1]), ("a2", [File1]), ("a3", [File1]));
        await site.Stack.OpenNowAsync();
        var sources = Assert.Single((await third.ManifestAsync()).Files).Sources;
        Assert.Equal(3, sources.Count);
        Assert.Equal(new[] { first.ParentUrl, second.ParentUrl }.Order(StringComparer.Ordinal), sources.Take(2).Order(StringComparer.Ordinal));
        Assert.Equal(NoOrigin, sources[2]);
        Assert.Equal(0, (await site.CopiesAsync()).Held);
    }

    [Fact]
    public void HeldCopies_AreStored_SoARestartMidWindowKeepsThem_AndAReleaseKeepsTheProgressReported()
    {
        using var state = new TempDirectory("openconnect-fill-staged");
        var day = DateOnly.FromDateTime(FillStack.Noon.UtcDateTime);
        var until = FillStack.Noon.AddHours(1);
        var other = new FileId("t2", "r0");
        ulong version;
        {
            var store = new FillStore(StateDatabase.Sqlite(state.Path));
            version = store.AddManifest("a2", "isp1", day, [new ManifestEntry(other, 10), new ManifestEntry(File1, 20, until)], v => [(byte)v]);
            store.RecordProgress(version, [(other, FillStore.Done, "", 10)]);
        }

        {
            var store = new FillStore(StateDatabase.Sqlite(state.Path));
            var held = Assert.Single(store.HeldCopies("isp1"));
            Assert.Equal(new HeldCopy("a2", "isp1", version, File1, 20, until), held);
            Assert.Contains(store.CurrentFiles("isp1"), f => f.File == File1 && f.Held && f.State == 0);

            var next = store.Release("a2", version, new HashSet<FileId> { File1 }, v => [(byte)v]);
            Assert.NotNull(next);
            Assert.Empty(store.HeldCopies(null));
            var files = store.CurrentFiles("isp1");
            Assert.Contains(files, f => f.File == other && f.State == FillStore.Done);
            Assert.Contains(files, f => f.File == File1 && !f.Held && f.State == 0);

            // A release against a superseded version (a new fill opened meanwhile) does nothing.
            Assert.Null(store.Release("a2", version, new HashSet<FileId> { File1 }, v => [(byte)v]));
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1.5")]
    public async Task HoldShare_OutsideZeroToOne_IsAStartupError_NamingTheSetting(string share)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => FillStack.StartAsync(NoOrigin, new FixedPlan(), $"--FillController:Fill:HoldShare={share}"));
        Assert.Contains("Fill:HoldShare", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OriginParentUrl_ThatIsNotHttps_IsAStartupError_NamingTheSetting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => FillStack.StartAsync(NoOrigin, new FixedPlan(), "--FillController:Fill:OriginParentUrl=http://127.0.0.1:8143"));
        Assert.Contains("Fill:OriginParentUrl", error.ToString(), StringComparison.Ordinal);
    }

    private sealed record Copies(int Planned, int Complete, int Failed, int Held);

    /// <summary>A fill stack with two registered appliances of site isp1 (a1, a2) and a plan putting <see cref="File1"/> on both.</summary>
    private sealed class Site : IAsyncDisposable
    {
        private readonly Dictionary<string, FakeAppliance> _appliances = new(StringComparer.Ordinal);

        private Site(FillStack stack, FixedPlan plan)
        {
            Stack = stack;
            Plan = plan;
        }

        public FillStack Stack { get; }

        public FixedPlan Plan { get; }

        public static async Task<Site> StartAsync(params string[] settings)
        {
            var plan = new FixedPlan();
            plan.Set(("a1", [File1]), ("a2", [File1]));
            var site = new Site(await FillStack.StartAsync(NoOrigin, plan, settings), plan);
            await site.AddApplianceAsync("a1");
            await site.AddApplianceAsync("a2");
            return site;
        }

        public async Task<FakeAppliance> AddApplianceAsync(string id)
        {
            var appliance = new FakeAppliance(Stack, id);
            await appliance.RegisterAsync();
            await Stack.WaitForRosterAsync(id);
            // The controller re-reads steering's roster for an id it lacks at most once a second.
            await Eventually.TrueAsync(appliance.AdmittedAsync, $"{id} admitted to fill orders");
            _appliances[id] = appliance;
            return appliance;
        }

        /// <summary>Opens the site; (the appliance whose copy went out, the one whose copy is held).</summary>
        public async Task<(FakeAppliance First, FakeAppliance Second)> OpenAsync()
        {
            await Stack.OpenNowAsync();
            var a1 = await _appliances["a1"].ManifestAsync();
            return a1.Files.Count == 1 ? (_appliances["a1"], _appliances["a2"]) : (_appliances["a2"], _appliances["a1"]);
        }

        public async Task<Copies> CopiesAsync()
        {
            var title = (await Stack.StatusAsync()).GetProperty("titles").EnumerateArray().Single(t => t.GetProperty("title").GetString() == File1.Title);
            return new Copies(Count(title, "copiesPlanned"), Count(title, "copiesComplete"), Count(title, "copiesFailed"), Count(title, "copiesHeld"));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var appliance in _appliances.Values)
            {
                appliance.Dispose();
            }

            await Stack.DisposeAsync();
        }

        private static int Count(JsonElement title, string name) => title.GetProperty(name).GetInt32();
    }

    /// <summary>An appliance as the fill controller sees it: registered with steering (with a parent listener URL), fetching its manifest and reporting over mutual TLS.</summary>
    private sealed class FakeAppliance(FillStack stack, string id) : IDisposable
    {
        private readonly X509Certificate2 _certificate = stack.Fleet.Issue($"openconnect://appliance/isp1/{id}");
        private GrpcChannel? _channel;
        private ulong _version;

        public string ParentUrl { get; } = $"https://127.0.0.{10 + id[^1] - '0'}:8443";

        public Task RegisterAsync() => stack.RegisterApplianceAsync(_certificate, id, $"http://127.0.0.{10 + id[^1] - '0'}:8400", ParentUrl);

        /// <summary>Whether the controller answers this appliance's fill orders (steering's roster, as the controller last read it, lists it).</summary>
        public async Task<bool> AdmittedAsync()
        {
            try
            {
                await Client().GetManifestAsync(new ManifestRequest { ApplianceId = id });
                return true;
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.PermissionDenied)
            {
                return false;
            }
        }

        /// <summary>The newest manifest (the held one when unchanged since the last call).</summary>
        public async Task<FillManifest> ManifestAsync()
        {
            var reply = await Client().GetManifestAsync(new ManifestRequest { ApplianceId = id });
            Assert.True(reply.Version > 0, $"{id} has no manifest");
            _version = reply.Version;
            return ManifestCodec.Decode(reply.ZstdManifest.ToByteArray());
        }

        /// <summary>Reports <see cref="File1"/> on the manifest last fetched (or <paramref name="version"/>); whether it was current.</summary>
        public async Task<bool> ReportAsync(FileState state, ulong? version = null)
        {
            var report = new ProgressReport { ApplianceId = id, ManifestVersion = version ?? _version };
            report.Files.Add(new FileProgress { Title = File1.Title, Rendition = File1.Rendition, State = state, Reason = state == FileState.Failed ? "every source failed" : "", BytesFetched = 1000 });
            return (await Client().ReportProgressAsync(report)).Current;
        }

        public void Dispose()
        {
            _channel?.Dispose();
            _certificate.Dispose();
        }

        private FillOrders.FillOrdersClient Client()
        {
            _channel ??= stack.FillOrdersChannel(_certificate);
            return new FillOrders.FillOrdersClient(_channel);
        }
    }
}
