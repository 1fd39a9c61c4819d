using OpenConnect.Hosting;

namespace OpenConnect.Origin.Protection;

/// <summary>Content protection settings (section <c>Origin:Protection</c>): the key-encryption key and the license endpoint.</summary>
public sealed class ProtectionOptions
{
    /// <summary>
    /// File holding the 256-bit key-encryption key (KEK, base64) that wraps every title key, created on
    /// first start with owner-only permissions (0600). Empty (the default) means
    /// <c>{DataDirectory}/keys/content-kek.key</c>. The origin refuses to start when the file exists
    /// but is malformed or readable or writable by group or others.
    /// </summary>
    public string KeyEncryptionKeyFile { get; set; } = "";

    /// <summary>
    /// Earlier KEK files, kept during a rotation: keys wrapped under them still unwrap, and at start the
    /// origin rewraps every such key under the current KEK (<see cref="KeyEncryptionKeyFile"/>) and logs
    /// how many it moved and how many are left. Default: none. Each must exist, be owner-only, and differ
    /// from the current file.
    /// </summary>
    public List<string> PreviousKeyEncryptionKeyFiles { get; set; } = [];

    /// <summary>License requests per second each client address may make on average. Default 2.</summary>
    public int LicenseRequestsPerSecond { get; set; } = 2;

    /// <summary>
    /// License requests a client address may make in a burst before <see cref="LicenseRequestsPerSecond"/>
    /// applies. Default 20: a player asks once per session (again on a reload or a key change), and
    /// several players may share an address behind a NAT.
    /// </summary>
    public int LicenseRequestBurst { get; set; } = 20;

    /// <summary>The KEK file in force (<see cref="KeyEncryptionKeyFile"/>, or the default under <paramref name="dataDirectory"/>).</summary>
    public string KeyEncryptionKeyPath(string dataDirectory) =>
        string.IsNullOrEmpty(KeyEncryptionKeyFile) ? Path.Combine(dataDirectory, "keys", "content-kek.key") : KeyEncryptionKeyFile;

    public void Validate(OptionsCheck check)
    {
        check.Require(KeyEncryptionKeyFile.Length == 0 || (KeyEncryptionKeyFile.Trim().Length == KeyEncryptionKeyFile.Length && !Directory.Exists(KeyEncryptionKeyFile) && !Path.EndsInDirectorySeparator(KeyEncryptionKeyFile)),
            "Protection:KeyEncryptionKeyFile", KeyEncryptionKeyFile, "must name a file (or be empty for {DataDirectory}/keys/content-kek.key)");
        for (var i = 0; i < PreviousKeyEncryptionKeyFiles.Count; i++)
        {
            var file = PreviousKeyEncryptionKeyFiles[i];
            check.Require(!string.IsNullOrWhiteSpace(file) && File.Exists(file), $"Protection:PreviousKeyEncryptionKeyFiles:{i}", file, "must name an existing key-encryption key file");
            check.Require(KeyEncryptionKeyFile.Length == 0 || !string.Equals(Path.GetFullPath(file), Path.GetFullPath(KeyEncryptionKeyFile), StringComparison.Ordinal), $"Protection:PreviousKeyEncryptionKeyFiles:{i}", file, "must differ from Protection:KeyEncryptionKeyFile");
        }

        check.Require(LicenseRequestsPerSecond is >= 1 and <= 1_000_000, "Protection:LicenseRequestsPerSecond", LicenseRequestsPerSecond, "must be between 1 and 1000000");
        check.Require(LicenseRequestBurst is >= 1 and <= 1_000_000, "Protection:LicenseRequestBurst", LicenseRequestBurst, "must be between 1 and 1000000");
    }
}
