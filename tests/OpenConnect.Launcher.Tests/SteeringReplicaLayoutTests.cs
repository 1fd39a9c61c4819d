using OpenConnect.Launcher.Cli;
using OpenConnect.Launcher.Layout;

namespace OpenConnect.Launcher.Tests;

/// <summary>A fleet with several steering instances: where they run, what they share, and who talks to them.</summary>
public sealed class SteeringReplicaLayoutTests
{
    private static readonly FleetLayout Three =
        FleetLayout.Loopback("/state", 8100, 8200, 8300, [("appliance-1", 8400)], steeringReplicas: 3);

    [Fact]
    public void Loopback_PutsReplicasOnTheSteeringPortPlusFive_AndStartsThemRightAfterSteering()
    {
        Assert.Equal(["steering", "steering-2", "steering-3"], Three.SteeringReplicas);
        Assert.Equal(["steering", "steering-2", "steering-3", "origin", "fill-controller", "appliance-1"], Three.Roles);
        Assert.Equal("http://127.0.0.1:8205", Three.Url("steering-2"));
        Assert.Equal("https://127.0.0.1:8290", Three.ControlUrl("steering-3"));
        Assert.Equal("http://127.0.0.1:9210", Three.ManagementUrl("steering-3"));
        Assert.Equal(["https://127.0.0.1:8280", "https://127.0.0.1:8285", "https://127.0.0.1:8290"], Three.SteeringControlUrls);
        Assert.Equal(["steering"], FleetLayout.Loopback("/s", 8100, 8200, 8300, [("a", 8400)]).SteeringReplicas);
    }

    [Fact]
    public void AReplica_SharesOnlyTheSigningKeyTheFleetDirectoryAndThePrefixes()
    {
        var settings = RoleSettings.Steering(Three, "steering-2");
        Assert.Equal(["--urls", "http://127.0.0.1:8205"], settings.Take(2));
        Assert.Contains("--Steering:DataDirectory=/state/steering-2", settings);
        Assert.Contains("--Steering:ControlUrl=https://127.0.0.1:8285", settings);
        Assert.Contains("--Steering:Fleet:EnrollUrl=https://127.0.0.1:8286", settings);
        Assert.Contains("--Steering:SigningKeyFile=/state/steering/keys/steering-signing.key", settings);
        Assert.Contains("--Steering:Fleet:Directory=/state/steering/fleet", settings);
        Assert.Contains("--Steering:PrefixDirectory=/state/steering/prefixes", settings);
        Assert.DoesNotContain(RoleSettings.Steering(Three), s => s.StartsWith("--Steering:SigningKeyFile", StringComparison.Ordinal));
    }

    [Fact]
    public void Appliances_TheOriginAndTheFillController_TalkToEveryReplica()
    {
        var appliance = RoleSettings.Appliance(Three, "appliance-1", "P", "I");
        Assert.Contains("--Appliance:Steering:Url=https://127.0.0.1:8280", appliance);
        Assert.Contains("--Appliance:Steering:Urls:0=https://127.0.0.1:8285", appliance);
        Assert.Contains("--Appliance:Steering:Urls:1=https://127.0.0.1:8290", appliance);
        // Enrollment stays with steering itself (its records are what replicas read at start).
        Assert.Contains("--Appliance:Fleet:EnrollUrl=https://127.0.0.1:8281", appliance);
        var origin = RoleSettings.Origin(Three, "P");
        Assert.Contains("--Origin:Fleet:SteeringControlUrl=https://127.0.0.1:8280", origin);
        Assert.Contains("--Origin:Fleet:SteeringControlUrls:1=https://127.0.0.1:8290", origin);
        var fill = RoleSettings.FillController(Three);
        Assert.Contains("--FillController:Fill:SteeringControlUrls:0=https://127.0.0.1:8285", fill);
        Assert.Contains("--FillController:Fill:SteeringControlUrls:1=https://127.0.0.1:8290", fill);
        Assert.DoesNotContain(RoleSettings.Appliance(FleetLayout.Loopback("/s", 8100, 8200, 8300, [("a", 8400)]), "a", "P", "I"), s => s.StartsWith("--Appliance:Steering:Urls", StringComparison.Ordinal));
    }

    [Fact]
    public void OnTheBed_EachReplicaIsOnItsOwnHost()
    {
        var hosts = new[] { "origin", "steering", "steering-2", "fill", "a1" }.Select((n, i) => new FleetHost(n, "ns-" + n, $"198.18.0.{10 + i}")).ToDictionary(h => h.Name);
        var bed = FleetLayout.Namespaces("/bed", hosts, [new FleetSite("site-a", ["a1"], ["198.18.1.0/24"])], [], steeringReplicas: 2);
        Assert.Equal("http://198.18.0.12:8200", bed.Url("steering-2"));
        Assert.Equal(["https://198.18.0.11:8280", "https://198.18.0.12:8280"], bed.SteeringControlUrls);
        var missing = Assert.Throws<ArgumentException>(() => FleetLayout.Namespaces("/bed", hosts, [new FleetSite("site-a", ["a1"], ["198.18.1.0/24"])], [], steeringReplicas: 3));
        Assert.Contains("no host 'steering-3'", missing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10")]
    [InlineData("two")]
    public void UpArguments_RefuseAReplicaCountOutsideOneToNine(string count)
    {
        var ex = Assert.Throws<UsageException>(() => UpArguments.Parse(["--state-dir", "/s", "--origin-port", "8100", "--steering-port", "8200", "--fill-port", "8300", "--appliance-ports", "8400", "--steering-replicas", count]));
        Assert.Contains("--steering-replicas", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, UpArguments.Parse(["--state-dir", "/s", "--origin-port", "8100", "--steering-port", "8200", "--fill-port", "8300", "--appliance-ports", "8400", "--steering-replicas", "2"]).SteeringReplicas);
        Assert.Equal(1, UpArguments.Parse(["--state-dir", "/s", "--origin-port", "8100", "--steering-port", "8200", "--fill-port", "8300", "--appliance-ports", "8400"]).SteeringReplicas);
    }
}
