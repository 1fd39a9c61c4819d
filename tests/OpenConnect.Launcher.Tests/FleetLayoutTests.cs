using OpenConnect.Launcher.Layout;

namespace OpenConnect.Launcher.Tests;

public sealed class FleetLayoutTests
{
    private static FleetLayout Loopback() =>
        FleetLayout.Loopback("/state", originPort: 8100, steeringPort: 8200, fillPort: 8300, [("appliance-1", 8400), ("appliance-2", 8401)]);

    private static readonly Dictionary<string, FleetHost> BedHosts = new[] { "origin", "steering", "fill", "a1", "a2", "b1" }
        .Select((name, i) => new FleetHost(name, "ocb-" + name, $"198.18.0.{10 + i}", $"2001:2::{10 + i}"))
        .ToDictionary(h => h.Name);

    private static FleetLayout Bed() =>
        FleetLayout.Namespaces("/bed", BedHosts, [new FleetSite("site-a", ["a1", "a2"], ["198.18.1.0/24"], "ca"), new FleetSite("site-b", ["b1"], ["198.18.2.0/24"], "cb")], ["198.18.0.0/24"]);

    [Theory]
    [InlineData("steering", "http://127.0.0.1:8200", "https://127.0.0.1:8280", "http://127.0.0.1:9200")]
    [InlineData("fill-controller", "http://127.0.0.1:8300", "https://127.0.0.1:8380", "http://127.0.0.1:9300")]
    [InlineData("appliance-2", "http://127.0.0.1:8401", "https://127.0.0.1:8481", "http://127.0.0.1:9401")]
    public void Loopback_DerivesEveryListenerFromTheRolesPort(string role, string url, string control, string management)
    {
        var layout = Loopback();
        Assert.Equal(url, layout.Url(role));
        Assert.Equal(control, layout.ControlUrl(role));
        Assert.Equal(management, layout.ManagementUrl(role));
        Assert.Null(layout.Host(role).Namespace);
    }

    [Fact]
    public void Loopback_EnrollmentAndParentListeners_FollowRunShsScheme()
    {
        var layout = Loopback();
        Assert.Equal("https://127.0.0.1:8281", layout.EnrollUrl);
        Assert.Equal("https://127.0.0.1:8143", layout.ParentUrl("origin"));
        Assert.Equal("https://127.0.0.1:8443", layout.ParentUrl("appliance-1"));
        Assert.Equal(["steering", "origin", "fill-controller", "appliance-1", "appliance-2"], layout.Roles);
        Assert.Equal("local", layout.SiteOf("appliance-2"));
        Assert.Equal(["127.0.0.0/8", "::1/128"], layout.Sites.Single().Prefixes);
    }

    [Fact]
    public void Parents_AreTheAppliancesBeforeItInItsSite_ThenTheOrigin()
    {
        Assert.Equal(["origin"], Loopback().Parents("appliance-1"));
        Assert.Equal(["appliance-1", "origin"], Loopback().Parents("appliance-2"));
        Assert.Equal(["a1", "origin"], Bed().Parents("a2"));
        Assert.Equal(["origin"], Bed().Parents("b1"));
    }

    [Fact]
    public void Namespaces_PutEachRoleOnItsHost_WithTheBedsFixedPorts_AndManagementInsideTheNamespace()
    {
        var layout = Bed();
        Assert.Equal("http://198.18.0.12:8300", layout.Url("fill-controller"));
        Assert.Equal("ocb-fill", layout.Host("fill-controller").Namespace);
        Assert.Equal("https://198.18.0.11:8281", layout.EnrollUrl);
        Assert.Equal("https://198.18.0.13:8443", layout.ParentUrl("a1"));
        Assert.Equal("https://198.18.0.10:8143", layout.ParentUrl("origin"));
        Assert.Equal("http://127.0.0.1:9000", layout.ManagementUrl("a2"));
        Assert.Equal(["steering", "origin", "fill-controller", "a1", "a2", "b1"], layout.Roles);
    }

    [Fact]
    public void StatePaths_AreRunShs()
    {
        var layout = Loopback();
        Assert.Equal("/state/steering/fleet/ca.crt", layout.CaCertificateFile);
        Assert.Equal("/state/steering/fleet/operator.token", layout.OperatorTokenFile);
        Assert.Equal("/state/origin-fleet", layout.FleetCertificateDirectory("origin"));
        Assert.Equal("/state/appliance-1-fleet", layout.FleetCertificateDirectory("appliance-1"));
        Assert.Equal("/state/logs/appliance-1.log", layout.LogFile("appliance-1"));
        Assert.Equal("/state/steering/prefixes/local.prefixes", layout.PrefixFile("local"));
        Assert.Equal("/state/steering/keys/steering-signing.pub", layout.PlaybackKeyFile);
        Assert.Equal("/state/origin/keys/origin-signing.pub", layout.IntegrityKeyFile);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64536)]
    [InlineData(70000)]
    public void Loopback_RefusesAPortWhoseManagementPortDoesNotExist(int port)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FleetLayout.Loopback("/s", port, 8200, 8300, [("a", 8400)]));
        Assert.Contains("origin's port", error.Message);
    }

    [Fact]
    public void Loopback_RefusesTwoRolesOnOnePort()
    {
        var error = Assert.Throws<ArgumentException>(() => FleetLayout.Loopback("/s", 8100, 8200, 8300, [("a", 8400), ("b", 8400)]));
        Assert.Contains("its own port", error.Message);
    }

    [Fact]
    public void UnknownRolesAndHosts_AreNamedInTheError()
    {
        Assert.Contains("no role 'x'", Assert.Throws<ArgumentException>(() => Loopback().Url("x")).Message);
        Assert.Contains("no host 'b2'", Assert.Throws<ArgumentException>(() => FleetLayout.Namespaces("/b", BedHosts, [new FleetSite("s", ["b2"], [])], [])).Message);
    }

    [Fact]
    public void WithoutAFillController_TheRolesAreSteeringOriginAndAppliances()
    {
        var layout = FleetLayout.Loopback("/s", 8100, 8200, null, [("oca-bench", 8400)]);
        Assert.False(layout.HasFillController);
        Assert.Equal(["steering", "origin", "oca-bench"], layout.Roles);
    }
}
