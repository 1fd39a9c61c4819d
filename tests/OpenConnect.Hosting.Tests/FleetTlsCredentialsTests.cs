using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Hosting.Tests;

/// <summary>The kit's fleet TLS credentials: files loaded and checked with the setting named in every refusal, renewal in place.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FleetTlsCredentialsTests : IDisposable
{
    private const string Section = "Role:Fleet";

    private readonly TempDirectory _dir = new();
    private readonly FleetCertificates _fleet;

    public FleetTlsCredentialsTests()
    {
        _fleet = FleetCertificates.Create(_dir.Combine("fleet"));
    }

    [Fact]
    public void GoodFiles_Load_WithTheCertificateCurrent_AndRenewalsReplaceIt()
    {
        var (certificateFile, keyFile) = _fleet.WriteService(_dir.Combine("own"), "origin", "openconnect://origin");
        using var credentials = FleetTlsCredentials.Load(Files(certificateFile, keyFile), FleetIdentity.Origin, FleetCertificateUse.ClientAndServer);

        Assert.Equal(1, credentials.Version);
        Assert.Equal(FleetIdentity.Origin, FleetIdentity.FromCertificate(credentials.Current!));
        Assert.True(credentials.Current!.HasPrivateKey);
        Assert.Equal(FleetIdentity.Origin, credentials.Trust.CheckServer(credentials.Current).Identity);
        Assert.NotNull(credentials.ClientOptions(FleetIdentity.Steering).ClientCertificateContext);

        var first = credentials.Current;
        using var renewed = _fleet.Issue("openconnect://origin", server: true);
        credentials.Install(renewed);
        Assert.Equal(2, credentials.Version);
        Assert.Same(renewed, credentials.Current);
        // The previous certificate stays usable by connections that hold it.
        Assert.True(first.HasPrivateKey);
        first.Dispose();
    }

    [Fact]
    public void ChangedFiles_AreReloaded_WhenTheyPassTheChecks_ARefusedPairIsReadOnce()
    {
        var directory = _dir.Combine("own");
        var (certificateFile, keyFile) = _fleet.WriteService(directory, "fill-controller", "openconnect://fill-controller");
        using var credentials = FleetTlsCredentials.Load(Files(certificateFile, keyFile), FleetIdentity.FillController, FleetCertificateUse.ClientAndServer);
        Assert.False(credentials.ReloadIfChanged(out var refused));
        Assert.Null(refused);

        _fleet.WriteService(directory, "fill-controller", "openconnect://fill-controller");
        Assert.True(credentials.ReloadIfChanged(out refused));
        Assert.Null(refused);
        Assert.Equal(2, credentials.Version);
        using (var onDisk = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile)))
        {
            Assert.Equal(onDisk.SerialNumber, credentials.Current!.SerialNumber);
        }

        var renewed = credentials.Current!;
        _fleet.WriteService(directory, "fill-controller", "openconnect://steering");
        Assert.False(credentials.ReloadIfChanged(out refused));
        Assert.Contains($"{Section}:CertificateFile '{certificateFile}' is not a fleet certificate for openconnect://fill-controller", refused);
        Assert.Same(renewed, credentials.Current);

        // Not read again until the files change again.
        Assert.False(credentials.ReloadIfChanged(out refused));
        Assert.Null(refused);
        Assert.Equal(2, credentials.Version);
    }

    [Fact]
    public void TheSamePairWrittenAgain_IsNotANewCertificate()
    {
        var (certificateFile, keyFile) = _fleet.WriteService(_dir.Combine("own"), "fill-controller", "openconnect://fill-controller");
        using var credentials = FleetTlsCredentials.Load(Files(certificateFile, keyFile), FleetIdentity.FillController, FleetCertificateUse.ClientAndServer);
        var current = credentials.Current;

        // What a role's own renewal does: the certificate it installed is written to its file.
        File.WriteAllText(certificateFile, File.ReadAllText(certificateFile));
        File.SetLastWriteTimeUtc(certificateFile, DateTime.UtcNow.AddSeconds(5));
        Assert.False(credentials.ReloadIfChanged(out var refused));
        Assert.Null(refused);
        Assert.Equal(1, credentials.Version);
        Assert.Same(current, credentials.Current);
    }

    [Fact]
    public void AnotherCaInTheCaFile_NeedsARestart_AndTheReloadRefusesIt()
    {
        var (certificateFile, keyFile) = _fleet.WriteService(_dir.Combine("own"), "origin", "openconnect://origin");
        using var credentials = FleetTlsCredentials.Load(Files(certificateFile, keyFile), FleetIdentity.Origin, FleetCertificateUse.Server);
        var reload = new FleetCredentialsReload("fleet certificate (Role:Fleet)", () => credentials);
        Assert.Null(credentials.AuthorityChanged());
        Assert.False(reload.Reload());

        using var foreign = FleetCertificates.Create(_dir.Combine("foreign"));
        File.Copy(foreign.CaCertificateFile, _fleet.CaCertificateFile, overwrite: true);
        var changed = credentials.AuthorityChanged();
        Assert.Contains($"{Section}:CaCertificateFile '{_fleet.CaCertificateFile}' now holds another CA", changed);
        Assert.Contains("needs a restart", changed);
        Assert.Equal(changed, Assert.Throws<InvalidOperationException>(() => reload.Reload()).Message);
        Assert.Equal(_fleet.Authority.Thumbprint, credentials.Authority.Thumbprint);

        File.WriteAllText(_fleet.CaCertificateFile, "not a certificate");
        Assert.Contains($"{Section}:CaCertificateFile '{_fleet.CaCertificateFile}' is not a PEM certificate", credentials.AuthorityChanged());
    }

    [Fact]
    public void WithoutACertificate_ClientOptions_PresentNone()
    {
        using var credentials = new FleetTlsCredentials(X509CertificateLoader.LoadCertificate(_fleet.Authority.RawData));
        Assert.Equal(0, credentials.Version);
        Assert.Null(credentials.Current);
        Assert.Null(credentials.ClientOptions(FleetIdentity.Steering).ClientCertificateContext);
    }

    [Fact]
    public void WrongFiles_AreRefused_NamingTheSettingAndTheFile()
    {
        var (certificateFile, keyFile) = _fleet.WriteService(_dir.Combine("own"), "fill-controller", "openconnect://fill-controller");

        var missingCa = Refused(Files(certificateFile, keyFile) with { CaCertificateFile = _dir.Combine("none.crt") });
        Assert.Contains($"{Section}:CaCertificateFile '{_dir.Combine("none.crt")}' does not exist", missingCa);

        var missingCertificate = Refused(Files(_dir.Combine("none.crt"), keyFile));
        Assert.Contains($"{Section}:CertificateFile '{_dir.Combine("none.crt")}' does not exist", missingCertificate);
        Assert.Contains("POST /fleet/certificates", missingCertificate);

        Assert.Contains($"{Section}:KeyFile '{_dir.Combine("none.key")}' does not exist", Refused(Files(certificateFile, _dir.Combine("none.key"))));

        var readable = _dir.Combine("readable.key");
        File.Copy(keyFile, readable);
        File.SetUnixFileMode(readable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var group = Refused(Files(certificateFile, readable));
        Assert.Contains($"{Section}:KeyFile", group);
        Assert.Contains("chmod 600", group);

        var notPem = _dir.Combine("not-a-ca.crt");
        File.WriteAllText(notPem, "not a certificate");
        Assert.Contains($"{Section}:CaCertificateFile '{notPem}' is not a PEM certificate", Refused(Files(certificateFile, keyFile) with { CaCertificateFile = notPem }));

        var (_, otherKey) = _fleet.WriteService(_dir.Combine("other"), "other", "openconnect://fill-controller");
        Assert.Contains("is not a PEM certificate and its private key", Refused(Files(certificateFile, otherKey)));

        using var foreign = FleetCertificates.Create(_dir.Combine("foreign"));
        Assert.Contains("does not chain to the fleet CA", Refused(Files(certificateFile, keyFile) with { CaCertificateFile = foreign.CaCertificateFile }));

        var (applianceCertificate, applianceKey) = _fleet.WriteService(_dir.Combine("appliance"), "appliance", "openconnect://appliance/isp1/oca-1");
        var wrongIdentity = Refused(Files(applianceCertificate, applianceKey));
        Assert.Contains($"{Section}:CertificateFile '{applianceCertificate}' is not a fleet certificate for openconnect://fill-controller", wrongIdentity);
        Assert.Contains("it names openconnect://appliance/isp1/oca-1, not openconnect://fill-controller", wrongIdentity);

        var expired = WriteIssued("expired", key => _fleet.Issue(key, "openconnect://fill-controller", server: true, notBefore: DateTimeOffset.UtcNow.AddDays(-10), lifetime: TimeSpan.FromDays(1)));
        Assert.Contains("is not valid now", Refused(Files(expired.CertificateFile, expired.KeyFile)));

        var clientOnly = WriteIssued("client-only", key => _fleet.Issue(key, "openconnect://fill-controller", server: false));
        Assert.Contains("not valid for TLS servers", Refused(Files(clientOnly.CertificateFile, clientOnly.KeyFile)));
        // A server-only role checks the certificate as a server's: the chain is built for server use and fails.
        Assert.Contains("does not chain to the fleet CA", Refused(Files(clientOnly.CertificateFile, clientOnly.KeyFile), FleetCertificateUse.Server));
    }

    public void Dispose()
    {
        _fleet.Dispose();
        _dir.Dispose();
    }

    private FleetCredentialFiles Files(string certificateFile, string keyFile) => new(Section, certificateFile, keyFile, _fleet.CaCertificateFile);

    private static string Refused(FleetCredentialFiles files, FleetCertificateUse use = FleetCertificateUse.ClientAndServer) =>
        Assert.Throws<InvalidOperationException>(() => FleetTlsCredentials.Load(files, FleetIdentity.FillController, use).Dispose()).Message;

    private (string CertificateFile, string KeyFile) WriteIssued(string name, Func<ECDsa, X509Certificate2> issue)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = issue(key);
        var keyFile = _dir.Combine(name + ".key");
        var certificateFile = _dir.Combine(name + ".crt");
        PrivateFile.Write(keyFile, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        return (certificateFile, keyFile);
    }
}
