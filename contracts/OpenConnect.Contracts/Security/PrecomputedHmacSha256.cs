using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace OpenConnect.Contracts.Security;

/// <summary>
/// HMAC-SHA256 under one fixed key with the key's inner and outer pad blocks hashed once, up front
/// (RFC 2104, section 4): a MAC of a short message is then two SHA-256 compressions over 64 bytes of
/// state that sit on one cache line. Steering makes one MAC per appliance of a decision, under keys
/// of thousands of appliances; the platform's HMAC either hashes the pads again per call or keeps a
/// native context per key that is cold by the time that appliance comes round again, and costs
/// twice as much either way. The result is HMAC-SHA256 exactly (tests compare with
/// <see cref="HMACSHA256"/>); nothing here branches or indexes on secret data.
/// </summary>
public sealed class PrecomputedHmacSha256
{
    private const int BlockLength = 64;

    private static readonly uint[] InitialState =
    [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];

    private static readonly uint[] RoundConstants =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    // The SHA-256 states after the inner (key ^ 0x36) and outer (key ^ 0x5c) pad blocks.
    private readonly uint[] _pads = new uint[16];

    public PrecomputedHmacSha256(ReadOnlySpan<byte> key)
    {
        Span<byte> block = stackalloc byte[BlockLength];
        block.Clear();
        if (key.Length > BlockLength)
        {
            SHA256.HashData(key, block);
        }
        else
        {
            key.CopyTo(block);
        }

        Span<byte> pad = stackalloc byte[BlockLength];
        for (var half = 0; half < 2; half++)
        {
            var mask = half == 0 ? (byte)0x36 : (byte)0x5c;
            for (var i = 0; i < BlockLength; i++)
            {
                pad[i] = (byte)(block[i] ^ mask);
            }

            var state = _pads.AsSpan(half * 8, 8);
            InitialState.CopyTo(state);
            Compress(state, pad);
        }

        CryptographicOperations.ZeroMemory(block);
        CryptographicOperations.ZeroMemory(pad);
    }

    /// <summary>Writes HMAC-SHA256 of <paramref name="message"/> (32 bytes) to <paramref name="mac"/>.</summary>
    public void Compute(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mac.Length, SHA256.HashSizeInBytes, nameof(mac));
        Span<uint> state = stackalloc uint[8];
        _pads.AsSpan(0, 8).CopyTo(state);
        Span<byte> inner = stackalloc byte[SHA256.HashSizeInBytes];
        Finish(state, message, BlockLength, inner);
        _pads.AsSpan(8, 8).CopyTo(state);
        Finish(state, inner, BlockLength, mac);
    }

    /// <summary>Hashes <paramref name="message"/> onto <paramref name="state"/> (after <paramref name="before"/> bytes already hashed), pads, writes the digest.</summary>
    private static void Finish(Span<uint> state, ReadOnlySpan<byte> message, int before, Span<byte> digest)
    {
        var whole = message.Length / BlockLength * BlockLength;
        for (var offset = 0; offset < whole; offset += BlockLength)
        {
            Compress(state, message.Slice(offset, BlockLength));
        }

        // The tail, 0x80, zeros, and the bit length: one block, or two when the tail leaves under 9 bytes.
        Span<byte> last = stackalloc byte[2 * BlockLength];
        last.Clear();
        var tail = message[whole..];
        tail.CopyTo(last);
        last[tail.Length] = 0x80;
        var blocks = tail.Length + 9 <= BlockLength ? 1 : 2;
        BinaryPrimitives.WriteUInt64BigEndian(last.Slice((blocks * BlockLength) - 8, 8), (ulong)(before + message.Length) * 8);
        for (var i = 0; i < blocks; i++)
        {
            Compress(state, last.Slice(i * BlockLength, BlockLength));
        }

        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(digest.Slice(i * 4, 4), state[i]);
        }
    }

    /// <summary>The SHA-256 compression function (FIPS 180-4, 6.2.2) of one 64-byte block onto <paramref name="state"/>.</summary>
    private static void Compress(Span<uint> state, ReadOnlySpan<byte> block)
    {
        Span<uint> w = stackalloc uint[64];
        for (var i = 0; i < 16; i++)
        {
            w[i] = BinaryPrimitives.ReadUInt32BigEndian(block.Slice(i * 4, 4));
        }

        for (var i = 16; i < 64; i++)
        {
            var s0 = BitOperations.RotateRight(w[i - 15], 7) ^ BitOperations.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
            var s1 = BitOperations.RotateRight(w[i - 2], 17) ^ BitOperations.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }

        uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        var k = RoundConstants;
        for (var i = 0; i < 64; i++)
        {
            var sum1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
            var choose = (e & f) ^ (~e & g);
            var t1 = h + sum1 + choose + k[i] + w[i];
            var sum0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
            var majority = (a & b) ^ (a & c) ^ (b & c);
            var t2 = sum0 + majority;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}
