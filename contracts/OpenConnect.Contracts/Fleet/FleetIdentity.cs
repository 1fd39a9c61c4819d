using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace OpenConnect.Contracts.Fleet;

/// <summary>What kind of fleet member a certificate names.</summary>
public enum FleetRole
{
    Appliance,
    Steering,
    FillController,
    Origin,
    Operator,
}

/// <summary>
/// Who holds a fleet certificate, written as the certificate's one SAN URI:
/// <c>openconnect://appliance/{site}/{id}</c>, <c>openconnect://steering</c>,
/// <c>openconnect://fill-controller</c>, <c>openconnect://origin</c> or <c>openconnect://operator/{name}</c>.
/// Ids, sites and operator names follow <see cref="NameRule"/> (the rule appliance ids and sites follow everywhere).
/// </summary>
public sealed record FleetIdentity
{
    public const string Scheme = "openconnect";

    private const string SubjectAltNameOid = "2.5.29.17";

    private FleetIdentity(FleetRole role, string site, string name)
    {
        Role = role;
        Site = site;
        Name = name;
    }

    public FleetRole Role { get; }

    /// <summary>The appliance's site; empty for other roles.</summary>
    public string Site { get; }

    /// <summary>The appliance id or operator name; empty for services.</summary>
    public string Name { get; }

    public static FleetIdentity Steering { get; } = new(FleetRole.Steering, "", "");

    public static FleetIdentity FillController { get; } = new(FleetRole.FillController, "", "");

    public static FleetIdentity Origin { get; } = new(FleetRole.Origin, "", "");

    public static FleetIdentity Appliance(string site, string id)
    {
        Require(site, "site");
        Require(id, "appliance id");
        return new FleetIdentity(FleetRole.Appliance, site, id);
    }

    public static FleetIdentity Operator(string name)
    {
        Require(name, "operator name");
        return new FleetIdentity(FleetRole.Operator, "", name);
    }

    /// <summary>The SAN URI, e.g. <c>openconnect://appliance/isp1/oca-1</c>.</summary>
    public Uri ToUri() => new(ToString());

    public override string ToString() => Role switch
    {
        FleetRole.Appliance => $"{Scheme}://appliance/{Site}/{Name}",
        FleetRole.Operator => $"{Scheme}://operator/{Name}",
        FleetRole.Steering => $"{Scheme}://steering",
        FleetRole.FillController => $"{Scheme}://fill-controller",
        _ => $"{Scheme}://origin",
    };

    /// <summary>Parses a fleet identity URI; false for anything that is not exactly one of the documented forms.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out FleetIdentity? identity)
    {
        identity = null;
        const string prefix = Scheme + "://";
        if (text is null || !text.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        // System.Uri writes a URI with an empty path with a trailing slash (openconnect://steering/).
        var rest = text[prefix.Length..];
        var parts = (rest.EndsWith('/') ? rest[..^1] : rest).Split('/');
        identity = parts switch
        {
            ["steering"] => Steering,
            ["fill-controller"] => FillController,
            ["origin"] => Origin,
            ["operator", var name] when IsValidName(name) => new FleetIdentity(FleetRole.Operator, "", name),
            ["appliance", var site, var id] when IsValidName(site) && IsValidName(id) => new FleetIdentity(FleetRole.Appliance, site, id),
            _ => null,
        };
        return identity is not null;
    }

    public static FleetIdentity Parse(string text) =>
        TryParse(text, out var identity) ? identity : throw new FormatException($"'{text}' is not a fleet identity (openconnect://appliance/{{site}}/{{id}}, openconnect://steering, openconnect://fill-controller, openconnect://origin or openconnect://operator/{{name}})");

    /// <summary>
    /// The identity a certificate names: its SAN must carry exactly one <c>openconnect://</c> URI
    /// (other URIs, DNS names and addresses are allowed beside it). Null when there is none, more
    /// than one, or it does not parse.
    /// </summary>
    public static FleetIdentity? FromCertificate(X509Certificate2 certificate)
    {
        FleetIdentity? found = null;
        foreach (var uri in SubjectAlternativeUris(certificate))
        {
            if (!uri.StartsWith(Scheme + ":", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (found is not null || !TryParse(uri, out found))
            {
                return null;
            }
        }

        return found;
    }

    /// <summary>The uniformResourceIdentifier entries of a certificate's subject alternative name.</summary>
    public static IReadOnlyList<string> SubjectAlternativeUris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            try
            {
                // GeneralNames ::= SEQUENCE OF GeneralName; uniformResourceIdentifier is [6] IMPLICIT IA5String.
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                reader.ThrowIfNotEmpty();
                var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
                while (names.HasData)
                {
                    if (names.PeekTag() == uriTag)
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                return [];
            }
        }

        return uris;
    }

    /// <summary>How the name rule reads in error messages.</summary>
    public const string NameRule = "1-64 characters of [A-Za-z0-9._-]";

    public static bool IsValidName(string? value)
    {
        if (value is null || value.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static void Require(string value, string what)
    {
        if (!IsValidName(value))
        {
            throw new ArgumentException($"{what} '{value}' must be {NameRule}");
        }
    }
}
