using System.Security.Cryptography;
using System.Text;

namespace OpenConnect.Origin.Protection;

/// <summary>
/// The 256-bit key-encryption key (KEK) that wraps title keys with AES-256-GCM. It lives only in its
/// own file on the origin (base64, one line, mode 0600); the database holds what it wrapped and its id.
/// </summary>
public sealed class KeyEncryptionKey : IDisposable
{
    public const int Length = 32;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private static readonly byte[] IdLabel = "openconnect content KEK id v1"u8.ToArray();

    // An AesGcm instance is not safe for concurrent use, so each operation makes its own from the key.
    private readonly byte[] _key;

    private KeyEncryptionKey(byte[] key)
    {
        _key = key;

        // Derived with HMAC, not a hash of the key itself: the id names the key without being a
        // function an attacker could test guesses of a raw SHA-256 against elsewhere.
        Id = Convert.ToHexStringLower(HMACSHA256.HashData(key, IdLabel).AsSpan(0, 8));
    }

    /// <summary>16 hex digits naming the key; stored beside each key it wraps so a rotation knows which rows are left.</summary>
    public string Id { get; }

    public static KeyEncryptionKey Generate() => new(RandomNumberGenerator.GetBytes(Length));

    public static KeyEncryptionKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Length)
        {
            throw new FormatException($"a key-encryption key is {Length} bytes, got {key.Length}");
        }

        return new KeyEncryptionKey(key.ToArray());
    }

    /// <summary>
    /// Loads the KEK at <paramref name="path"/>, creating it (owner-only, written to a temporary name,
    /// synced and renamed, so a crash never leaves half a key) when it does not exist. Throws
    /// <see cref="InvalidOperationException"/> naming the file when it is malformed or open to group or others.
    /// </summary>
    public static KeyEncryptionKey LoadOrCreate(string path) => File.Exists(path) ? Load(path) : Create(path);

    /// <summary>
    /// Loads an existing KEK file; throws <see cref="InvalidOperationException"/> naming the file when it
    /// is missing, malformed or open to group or others.
    /// </summary>
    public static KeyEncryptionKey Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"key-encryption key file '{path}' does not exist");
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupOrOthers) != 0)
            {
                throw new InvalidOperationException($"key-encryption key file '{path}' is accessible by group or others (mode {Convert.ToString((int)mode, 8)}); it must be owner-only: chmod 600 '{path}'");
            }
        }

        var text = File.ReadAllText(path).Trim();
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"key-encryption key file '{path}' is not base64 (expected the base64 of {Length} random bytes on one line)");
        }

        if (bytes.Length != Length)
        {
            throw new InvalidOperationException($"key-encryption key file '{path}' holds {bytes.Length} bytes, expected {Length} (a 256-bit key)");
        }

        return new KeyEncryptionKey(bytes);
    }

    /// <summary>Encrypts <paramref name="plaintext"/> with a fresh random nonce; returns <c>nonce ‖ ciphertext ‖ tag</c>.</summary>
    public byte[] Wrap(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var wrapped = new byte[NonceLength + plaintext.Length + TagLength];
        var nonce = wrapped.AsSpan(0, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagLength);
        aes.Encrypt(nonce, plaintext, wrapped.AsSpan(NonceLength, plaintext.Length), wrapped.AsSpan(NonceLength + plaintext.Length), associatedData);
        return wrapped;
    }

    /// <summary>
    /// Decrypts what <see cref="Wrap"/> produced. False when the tag does not verify: the bytes or the
    /// associated data changed, or another key wrapped them.
    /// </summary>
    public bool TryUnwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, out byte[] plaintext)
    {
        plaintext = [];
        if (wrapped.Length < NonceLength + TagLength)
        {
            return false;
        }

        var result = new byte[wrapped.Length - NonceLength - TagLength];
        using var aes = new AesGcm(_key, TagLength);
        try
        {
            aes.Decrypt(wrapped[..NonceLength], wrapped.Slice(NonceLength, result.Length), wrapped[^TagLength..], result, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }

        plaintext = result;
        return true;
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);

    private static KeyEncryptionKey Create(string path)
    {
        var key = RandomNumberGenerator.GetBytes(Length);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using (var stream = new FileStream(temporary, options))
        {
            if (!OperatingSystem.IsWindows())
            {
                // A temporary left by a crash keeps its old mode on FileMode.Create; make sure.
                File.SetUnixFileMode(stream.SafeFileHandle, OwnerOnly);
            }

            stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
            stream.Flush(flushToDisk: true);
        }

        // No overwrite: if another process created the key meanwhile, fail rather than replace a key
        // that may already wrap title keys.
        File.Move(temporary, path, overwrite: false);
        return new KeyEncryptionKey(key);
    }
}
