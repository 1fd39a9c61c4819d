namespace OpenConnect.Origin.Protection;

/// <summary>
/// The content key of a protected title: a 16-byte key id (the CENC <c>default_KID</c>) and the
/// 16-byte AES-128 key that encrypts its samples (AES-CTR, the <c>cenc</c> scheme).
/// </summary>
public sealed record TitleKey(byte[] KeyId, byte[] Key)
{
    /// <summary>The key id as 32 lowercase hex digits (ffmpeg's <c>-encryption_kid</c>).</summary>
    public string KeyIdHex => Convert.ToHexStringLower(KeyId);

    /// <summary>The key id in the UUID form manifests carry (<c>cenc:default_KID</c>).</summary>
    public string KeyIdUuid => new Guid(KeyId, bigEndian: true).ToString("D");
}

/// <summary>
/// The origin's content keys, one per protected title, generated here and stored only wrapped by the
/// key-encryption key. Appliances and the object store never see them.
/// </summary>
public interface ITitleKeys
{
    /// <summary>The title's key, created (and durably stored, wrapped) on first use.</summary>
    TitleKey GetOrCreate(string titleId);

    /// <summary>The title's key when it has one.</summary>
    bool TryGet(string titleId, out TitleKey key);
}
