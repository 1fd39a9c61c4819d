using OpenConnect.Launcher.Layout;

namespace OpenConnect.Launcher.Tests;

public sealed class RoleSettingsTests
{
    private static readonly FleetLayout Loopback =
        FleetLayout.Loopback("/state", 8100, 8200, 8300, [("appliance-1", 8400), ("appliance-2", 8401)]);

    private static readonly FleetLayout Bed = FleetLayout.Namespaces(
        "/bed",
        new[] { "origin", "steering", "fill", "a1", "a2" }.Select((n, i) => new FleetHost(n, "ns-" + n, $"198.18.0.{10 + i}", $"2001:2::{10 + i}")).ToDictionary(h => h.Name),
        [new FleetSite("site-a", ["a1", "a2"], ["198.18.1.0/24"])],
        ["198.18.0.0/24", "198.18.1.0/28"]);

    [Fact]
    public void Appliance_OnLoopback_IsRunShsAppliance()
    {
        var settings = RoleSettings.Appliance(Loopback, "appliance-2", "PLAY", "INTEGRITY");
        Assert.Equal(["--urls", "http://127.0.0.1:8401"], settings.Take(2));
        Assert.Contains("--Management:Url=http://127.0.0.1:9401", settings);
        Assert.Contains("--Appliance:Site=local", settings);
        Assert.Contains("--Appliance:Parents:0=https://127.0.0.1:8443", settings);
        Assert.Contains("--Appliance:Parents:1=https://127.0.0.1:8143", settings);
        Assert.Contains("--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:8444", settings);
        Assert.Contains("--Appliance:ControlUrl=https://127.0.0.1:8481", settings);
        Assert.Contains("--Appliance:Steering:Url=https://127.0.0.1:8280", settings);
        Assert.Contains("--Appliance:Fleet:EnrollUrl=https://127.0.0.1:8281", settings);
        Assert.Contains("--Appliance:Fleet:EnrollmentCodeFile=/state/appliance-2-fleet/enrollment.code", settings);
        Assert.Contains("--Appliance:PlaybackKeys:0=PLAY", settings);
        Assert.Contains("--Appliance:Upstream:IntegrityKeys:0=INTEGRITY", settings);
        Assert.Contains("--Appliance:UnsignedNetworks:0=127.0.0.0/8", settings);
        Assert.Contains("--Appliance:Fill:ControllerUrl=https://127.0.0.1:8380", settings);
        Assert.DoesNotContain(settings, s => s.StartsWith("--Appliance:PublicUrlIPv6", StringComparison.Ordinal));
    }

    [Fact]
    public void Appliance_OnTheBed_ListensOnBothAddresses_AndAdvertisesItsIPv6Url()
    {
        var settings = RoleSettings.Appliance(Bed, "a1", "P", "I");
        Assert.Equal(["--urls", "http://198.18.0.13:8400;http://[2001:2::13]:8400"], settings.Take(2));
        Assert.Contains("--Appliance:PublicUrlIPv6=http://[2001:2::13]:8400", settings);
        Assert.Contains("--Management:Url=http://127.0.0.1:9000", settings);
        Assert.Equal(["--Appliance:Parents:0=https://198.18.0.10:8143"], settings.Where(s => s.StartsWith("--Appliance:Parents:", StringComparison.Ordinal)));
        Assert.Contains("--Appliance:UnsignedNetworks:1=198.18.1.0/28", settings);
    }

    [Fact]
    public void Appliance_WithoutAFillController_GetsNoFillSettings()
    {
        var layout = FleetLayout.Loopback("/s", 8100, 8200, null, [("oca", 8400)]);
        Assert.DoesNotContain(RoleSettings.Appliance(layout, "oca", "P", "I"), s => s.StartsWith("--Appliance:Fill:", StringComparison.Ordinal));
    }

    [Fact]
    public void Steering_OnTheBed_NamesBothAddressesInItsCertificate()
    {
        var settings = RoleSettings.Steering(Bed);
        Assert.Contains("--Steering:Fleet:ServerNames:0=198.18.0.11", settings);
        Assert.Contains("--Steering:Fleet:ServerNames:1=2001:2::11", settings);
        Assert.Contains("--Steering:OriginUrl=http://198.18.0.10:8100", settings);
        Assert.DoesNotContain(RoleSettings.Steering(Loopback), s => s.StartsWith("--Steering:Fleet:ServerNames", StringComparison.Ordinal));
    }

    [Fact]
    public void OriginAndFillController_ServeWithTheCertificatesTheOperatorHadIssued()
    {
        var origin = RoleSettings.Origin(Loopback, "P");
        Assert.Contains("--Origin:Fleet:CertificateFile=/state/origin-fleet/origin.crt", origin);
        Assert.Contains("--Origin:Fleet:KeyFile=/state/origin-fleet/origin.key", origin);
        Assert.Contains("--Origin:Fleet:CaCertificateFile=/state/steering/fleet/ca.crt", origin);
        Assert.Contains("--Origin:Fleet:ParentUrl=https://127.0.0.1:8143", origin);
        Assert.Contains("--Origin:Catalog:AdminPasswordFile=/state/admin.password", origin);
        Assert.Contains("--Origin:Web:FleetSteeringUrl=https://127.0.0.1:8281", origin);
        Assert.Contains("--Origin:Fleet:SteeringControlUrl=https://127.0.0.1:8280", origin);
        Assert.Contains("--Origin:Web:FleetFillControllerUrl=https://127.0.0.1:8380", origin);
        var fill = RoleSettings.FillController(Loopback);
        Assert.Contains("--FillController:Fleet:CertificateFile=/state/fill-controller-fleet/fill-controller.crt", fill);
        Assert.Contains("--FillController:Fill:ControlUrl=https://127.0.0.1:8380", fill);
        Assert.Contains("--FillController:Fill:SteeringControlUrl=https://127.0.0.1:8280", fill);
        Assert.Contains("--FillController:Fill:OriginParentUrl=https://127.0.0.1:8143", fill);
    }
}
