using System.Diagnostics;
using System.Security.Cryptography;
using NSec.Cryptography;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Bench.Steering;

/// <summary>
/// Part of <c>bench steering</c>: what one token proof costs on this core, for the choice of token
/// format. Ed25519 sign and verify with BouncyCastle (what <see cref="Ed25519SigningKey"/> uses) and
/// with NSec (libsodium), and one truncated HMAC-SHA256 entry as v2 tokens carry per verifier.
/// </summary>
public static class SigningMicro
{
    /// <summary>One primitive's cost: operations per CPU-second and microseconds per operation.</summary>
    public sealed record Figure(string Name, double PerCpuSecond, double MicrosecondsEach);

    public static IReadOnlyList<Figure> Measure(int operations)
    {
        var payload = System.Text.Encoding.UTF8.GetBytes("v2|1795000000|/v/title-004711/|203.0.113.0/24,::/0");
        var seed = RandomNumberGenerator.GetBytes(32);
        var bouncy = Ed25519SigningKey.FromSeed(seed);
        var bouncySignature = bouncy.Sign(payload);
        var algorithm = SignatureAlgorithm.Ed25519;
        using var nsec = NSec.Cryptography.Key.Import(algorithm, seed, KeyBlobFormat.RawPrivateKey);
        var nsecSignature = algorithm.Sign(nsec, payload);
        var mac = PlaybackMacKey.Derive(bouncy, "oca-00001");
        var entry = new byte[PlaybackMacKey.EntryLength];
        var sink = 0;
        var signature = new byte[64];

        return
        [
            Time("Ed25519 sign, BouncyCastle", operations, () => sink += bouncy.Sign(payload)[0]),
            Time("Ed25519 sign, NSec (libsodium)", operations, () => algorithm.Sign(nsec, payload, signature)),
            Time("Ed25519 verify, BouncyCastle", operations, () => sink += bouncy.PublicKey.Verify(payload, bouncySignature) ? 1 : 0),
            Time("Ed25519 verify, NSec (libsodium)", operations, () => sink += algorithm.Verify(nsec.PublicKey, payload, nsecSignature) ? 1 : 0),
            Time("HMAC-SHA256/128 entry (v2, per verifier)", operations * 10, () => mac.WriteEntry(payload, entry)),
            Time("HMAC-SHA256/128 verify (v2, appliance)", operations * 10, () => sink += mac.Verify(payload, entry.AsSpan(PlaybackMacKey.TagLength)) ? 1 : 0),
        ];
    }

    private static Figure Time(string name, int operations, Action operation)
    {
        for (var i = 0; i < Math.Max(10, operations / 10); i++)
        {
            operation();
        }

        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        for (var i = 0; i < operations; i++)
        {
            operation();
        }

        process.Refresh();
        var cpu = Math.Max((process.TotalProcessorTime - cpuBefore).TotalSeconds, 1e-6);
        return new Figure(name, operations / cpu, cpu * 1e6 / operations);
    }
}
