namespace OpenConnect.Launcher.Layout;

/// <summary>
/// Each role's command-line settings in a fleet: the secure path production runs. Steering's
/// control and enrollment listeners are TLS only; the origin and the fill controller serve with
/// certificates the operator had issued; appliances enroll with one-time codes, heartbeat with their
/// fleet certificates, pull from their parents over fleet TLS and admit only what the origin's key
/// signed. Callers append their own settings after these (later settings win).
/// </summary>
public static class RoleSettings
{
    /// <summary>
    /// Steering instance <paramref name="role"/> (default <c>steering</c>). A replica keeps its own data
    /// directory (registry, takedowns, play history) and shares with <c>steering</c> only its signing
    /// key, its fleet directory (the CA, the enrollment records, the operator token) and the prefix tables.
    /// </summary>
    public static IReadOnlyList<string> Steering(FleetLayout layout, string role = FleetLayout.Steering)
    {
        var host = layout.Host(role);
        List<string> settings =
        [
            // Players reach steering on each of its addresses; an IPv6 player gets the appliances' IPv6 URLs.
            "--urls", host.ListenUrls(layout.Port(role)),
            $"--Management:Url={layout.ManagementUrl(role)}",
            $"--Steering:DataDirectory={layout.DataDirectory(role)}",
            $"--Steering:ControlUrl={layout.ControlUrl(role)}",
            $"--Steering:Fleet:EnrollUrl={host.SecureUrl(layout.Port(role) + FleetLayout.EnrollOffset)}",
            $"--Steering:OriginUrl={layout.Url(FleetLayout.Origin)}",
        ];
        if (role != FleetLayout.Steering)
        {
            settings.AddRange(
            [
                $"--Steering:SigningKeyFile={layout.SigningKeyFile}",
                $"--Steering:Fleet:Directory={layout.FleetDirectory}",
                $"--Steering:PrefixDirectory={layout.PrefixDirectory}",
            ]);
        }

        if (host.Ipv6 is not null)
        {
            // Its certificate names both of its addresses (the listeners' host adds the IPv4 one too).
            settings.AddRange([$"--Steering:Fleet:ServerNames:0={host.Ipv4}", $"--Steering:Fleet:ServerNames:1={host.Ipv6}"]);
        }

        return settings;
    }

    /// <summary>The origin with steering's <paramref name="playbackKey"/> and its fleet certificate (issued by the operator before it starts).</summary>
    public static IReadOnlyList<string> Origin(FleetLayout layout, string playbackKey)
    {
        var fleet = layout.FleetCertificateDirectory(FleetLayout.Origin);
        return
        [
            "--urls", layout.Url(FleetLayout.Origin),
            $"--Management:Url={layout.ManagementUrl(FleetLayout.Origin)}",
            $"--Origin:DataDirectory={layout.DataDirectory(FleetLayout.Origin)}",
            $"--Origin:PlaybackKeys:0={playbackKey}",
            // v2 playback tokens carry an entry for the origin, checked with this key (steering wrote it before its public key).
            $"--Origin:PlaybackMacKeyFile={layout.OriginPlaybackMacKeyFile}",
            $"--Origin:Catalog:AdminPasswordFile={layout.AdminPasswordFile}",
            // Appliances pull over TLS with fleet certificates.
            $"--Origin:Fleet:ParentUrl={layout.ParentUrl(FleetLayout.Origin)}",
            $"--Origin:Fleet:CertificateFile={Path.Combine(fleet, "origin.crt")}",
            $"--Origin:Fleet:KeyFile={Path.Combine(fleet, "origin.key")}",
            $"--Origin:Fleet:CaCertificateFile={layout.CaCertificateFile}",
            // Takedowns reach steering, and through its heartbeat replies every appliance.
            $"--Origin:Fleet:SteeringControlUrl={layout.ControlUrl(FleetLayout.Steering)}",
            .. layout.SteeringControlUrls.Skip(1).Select((url, i) => $"--Origin:Fleet:SteeringControlUrls:{i}={url}"),
            // The operator page reads steering's roster and the fill controller's progress with the origin's certificate.
            $"--Origin:Web:FleetSteeringUrl={layout.EnrollUrl}",
            .. layout.HasFillController ? [$"--Origin:Web:FleetFillControllerUrl={layout.ControlUrl(FleetLayout.FillController)}"] : (string[])[],
        ];
    }

    /// <summary>The fill controller with its fleet certificate, which it also reads steering's roster and play history with.</summary>
    public static IReadOnlyList<string> FillController(FleetLayout layout)
    {
        var fleet = layout.FleetCertificateDirectory(FleetLayout.FillController);
        return
        [
            "--urls", layout.Url(FleetLayout.FillController),
            $"--Management:Url={layout.ManagementUrl(FleetLayout.FillController)}",
            $"--FillController:DataDirectory={layout.DataDirectory(FleetLayout.FillController)}",
            $"--FillController:Steering:Url={layout.Url(FleetLayout.Steering)}",
            $"--FillController:Origin:Url={layout.Url(FleetLayout.Origin)}",
            $"--FillController:Fill:ControlUrl={layout.ControlUrl(FleetLayout.FillController)}",
            $"--FillController:Fill:SteeringControlUrl={layout.ControlUrl(FleetLayout.Steering)}",
            .. layout.SteeringControlUrls.Skip(1).Select((url, i) => $"--FillController:Fill:SteeringControlUrls:{i}={url}"),
            $"--FillController:Fill:OriginParentUrl={layout.ParentUrl(FleetLayout.Origin)}",
            $"--FillController:Fleet:CertificateFile={Path.Combine(fleet, "fill-controller.crt")}",
            $"--FillController:Fleet:KeyFile={Path.Combine(fleet, "fill-controller.key")}",
            $"--FillController:Fleet:CaCertificateFile={layout.CaCertificateFile}",
        ];
    }

    /// <summary>
    /// Appliance <paramref name="id"/>, enrolled the production way: its fleet directory holds its
    /// own key and certificate (made on first start from the one-time code in
    /// <see cref="EnrollmentCodeFile"/>; later starts reuse them).
    /// </summary>
    public static IReadOnlyList<string> Appliance(FleetLayout layout, string id, string playbackKey, string integrityKey)
    {
        var host = layout.Host(id);
        var port = layout.Port(id);
        List<string> settings =
        [
            "--urls", host.ListenUrls(port),
            $"--Management:Url={layout.ManagementUrl(id)}",
            $"--Appliance:Id={id}",
            $"--Appliance:Site={layout.SiteOf(id)}",
            $"--Appliance:Cache:Directory={layout.DataDirectory(id)}",
            // Parents over fleet TLS, nearest first; each appliance serves parent pulls itself.
            .. layout.Parents(id).Select((parent, i) => $"--Appliance:Parents:{i}={layout.ParentUrl(parent)}"),
            $"--Appliance:Upstream:ParentListenerUrl={layout.ParentUrl(id)}",
            $"--Appliance:ControlUrl={layout.ControlUrl(id)}",
            // Every steering instance: the appliance registers and heartbeats to each.
            $"--Appliance:Steering:Url={layout.ControlUrl(FleetLayout.Steering)}",
            .. layout.SteeringControlUrls.Skip(1).Select((url, i) => $"--Appliance:Steering:Urls:{i}={url}"),
            $"--Appliance:Fleet:Directory={layout.FleetCertificateDirectory(id)}",
            $"--Appliance:Fleet:CaCertificateFile={layout.CaCertificateFile}",
            $"--Appliance:Fleet:EnrollUrl={layout.EnrollUrl}",
            $"--Appliance:Fleet:EnrollmentCodeFile={EnrollmentCodeFile(layout, id)}",
            $"--Appliance:PlaybackKeys:0={playbackKey}",
            $"--Appliance:Upstream:IntegrityKeys:0={integrityKey}",
            .. layout.UnsignedNetworks.Select((n, i) => $"--Appliance:UnsignedNetworks:{i}={n}"),
        ];
        if (host.Ipv6 is not null)
        {
            settings.Add($"--Appliance:PublicUrlIPv6={host.UrlIPv6(port)}");
        }

        if (layout.HasFillController)
        {
            settings.AddRange([$"--Appliance:Fill:ControllerUrl={layout.ControlUrl(FleetLayout.FillController)}", "--Appliance:Fill:PollInterval=00:00:02"]);
        }

        return settings;
    }

    /// <summary>The one-time enrollment code the operator got for appliance <paramref name="id"/>, which it reads on first start.</summary>
    public static string EnrollmentCodeFile(FleetLayout layout, string id) => Path.Combine(layout.FleetCertificateDirectory(id), "enrollment.code");
}
