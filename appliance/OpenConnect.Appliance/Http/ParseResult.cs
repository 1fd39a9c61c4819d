namespace OpenConnect.Appliance.Http;

public enum ParseStatus : byte
{
    /// <summary>A complete head was parsed; <c>consumed</c> bytes belong to it.</summary>
    Complete,
    /// <summary>More bytes are needed.</summary>
    Incomplete,
    /// <summary>The head is malformed: answer 400 and close.</summary>
    BadRequest,
    /// <summary>The request line is longer than the limit: answer 414 and close.</summary>
    UriTooLong,
    /// <summary>The header section is larger than the limit or has too many fields: answer 431 and close.</summary>
    HeadersTooLarge,
    /// <summary>Not HTTP/1.0 or HTTP/1.1: answer 505 and close.</summary>
    VersionNotSupported,
}
