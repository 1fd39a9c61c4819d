using System.Globalization;
using System.Net;
using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Steering.Prefixes;

/// <summary>
/// Reads a prefix directory: one <c>{site}.prefixes</c> file per site, one CIDR per line
/// (<c>203.0.113.0/24</c>, <c>2001:db8::/32</c>; a bare address is a host prefix), <c>#</c> starting
/// a comment. Any error rejects the whole directory so a half-read table never goes live.
/// </summary>
public static class PrefixFiles
{
    public const string Extension = ".prefixes";

    /// <summary>Loads the directory into a table, or returns the first error as <c>file:line: message</c>.</summary>
    public static (PrefixTable? Table, string? Error) Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return (PrefixTable.Empty, null);
        }

        var builder = new PrefixTable.Builder();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension).Order(StringComparer.Ordinal))
        {
            var site = Path.GetFileNameWithoutExtension(path);
            if (!Identifiers.IsValid(site))
            {
                return (null, $"{Path.GetFileName(path)}: the site name (file name) must be {Identifiers.Rule}");
            }

            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (IOException ex)
            {
                return (null, $"{Path.GetFileName(path)}: {ex.Message}");
            }
            catch (UnauthorizedAccessException ex)
            {
                return (null, $"{Path.GetFileName(path)}: {ex.Message}");
            }

            for (var i = 0; i < lines.Length; i++)
            {
                var error = AddLine(builder, site, lines[i]);
                if (error is not null)
                {
                    return (null, $"{Path.GetFileName(path)}:{i + 1}: {error}");
                }
            }
        }

        return (builder.Build(), null);
    }

    /// <summary>Parses one line into <paramref name="builder"/>; returns an error message or null.</summary>
    public static string? AddLine(PrefixTable.Builder builder, string site, string line)
    {
        var hash = line.IndexOf('#');
        var text = (hash >= 0 ? line[..hash] : line).Trim();
        if (text.Length == 0)
        {
            return null;
        }

        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%'))
        {
            return $"'{text}' is not an IPv4 or IPv6 prefix such as 203.0.113.0/24 or 2001:db8::/32";
        }

        var max = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        var bits = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits > max))
        {
            return $"'{text}' has an invalid prefix length (0-{max})";
        }

        return builder.Add(site, address, bits);
    }
}
