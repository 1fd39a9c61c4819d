namespace OpenConnect.Contracts.Hosting;

/// <summary>
/// Appliance ids and site names: 1–64 characters of <c>[A-Za-z0-9._-]</c>, one rule for every role that
/// takes them (appliance options, steering's registration and prefix files, the fill controller's API),
/// so a name one role accepts is never refused by the next.
/// </summary>
public static class Identifiers
{
    public const int MaxLength = 64;

    /// <summary>How the rule reads in error messages.</summary>
    public const string Rule = "1-64 characters of [A-Za-z0-9._-]";

    public static bool IsValid(string? value)
    {
        if (value is null || value.Length is 0 or > MaxLength)
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
}
