using Microsoft.AspNetCore.Builder;
using OpenConnect.Appliance;
using OpenConnect.FillController;
using OpenConnect.Origin;
using OpenConnect.Steering;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>How to build each role and which setting holds its state directory.</summary>
public sealed record RoleUnderTest(string Name, Func<string[], WebApplication> Build, string AssemblyPath, string DirectoryKey, string[] Extra)
{
    /// <summary>The settings every start of this role in a test needs: its state directory, and no fixed extra ports.</summary>
    public string[] Settings(string directory, params string[] more) => [$"--{DirectoryKey}={directory}", .. Extra, .. more];

    public static readonly IReadOnlyDictionary<string, RoleUnderTest> All = new Dictionary<string, RoleUnderTest>
    {
        ["appliance"] = new("appliance", ApplianceHost.Build, typeof(ApplianceHost).Assembly.Location, "Appliance:Cache:Directory", ["--Appliance:ControlUrl=https://127.0.0.1:0", "--Appliance:UnsignedNetworks:0=127.0.0.0/8", "--Appliance:Upstream:AllowUnsignedContent=true"]),
        ["origin"] = new("origin", OriginHost.Build, typeof(OriginHost).Assembly.Location, "Origin:DataDirectory", []),
        ["steering"] = new("steering", SteeringHost.Build, typeof(SteeringHost).Assembly.Location, "Steering:DataDirectory", ["--Steering:ControlUrl=https://127.0.0.1:0", "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0"]),
        ["fill-controller"] = new("fill-controller", FillControllerHost.Build, typeof(FillControllerHost).Assembly.Location, "FillController:DataDirectory", ["--FillController:Fill:ControlUrl=https://127.0.0.1:0", .. FillControllerFleet.Settings]),
    };

    public static TheoryData<string> Names => new(All.Keys);

    public override string ToString() => Name;
}

/// <summary>
/// A fleet CA and an <c>openconnect://fill-controller</c> certificate, written once per test run:
/// the fill controller refuses to start without them.
/// </summary>
public static class FillControllerFleet
{
    private static readonly TempDirectory Directory = new("openconnect-fill-fleet");

    public static readonly string[] Settings = Write();

    private static string[] Write()
    {
        using var fleet = FleetCertificates.Create(Directory.Combine("ca"));
        var (certificateFile, keyFile) = fleet.WriteService(Directory.Path, "fill-controller", "openconnect://fill-controller");
        return
        [
            $"--FillController:Fleet:CertificateFile={certificateFile}",
            $"--FillController:Fleet:KeyFile={keyFile}",
            $"--FillController:Fleet:CaCertificateFile={fleet.CaCertificateFile}",
        ];
    }
}
