namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>
/// Account names users cannot register: the built-in admin's and names that pass for staff. A name
/// is compared the way the database compares names (case-insensitively, ASCII) and also without its
/// separators, so "Admin", "ad.min" and "ROOT_" are all reserved.
/// </summary>
public static class ReservedNames
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "admin", "administrator", "root", "system", "sysadmin", "superuser", "operator", "support",
        "security", "moderator", "mod", "staff", "owner", "official", "openconnect", "webmaster",
        "hostmaster", "postmaster", "abuse", "noc", "help", "helpdesk", "api", "origin", "null",
    };

    /// <summary>The name folded as compared: lower case, without '.', '_' and '-'.</summary>
    public static string Fold(string name) =>
        string.Create(name.Length - name.Count(c => c is '.' or '_' or '-'), name, static (span, source) =>
        {
            var i = 0;
            foreach (var c in source)
            {
                if (c is not ('.' or '_' or '-'))
                {
                    span[i++] = char.ToLowerInvariant(c);
                }
            }
        });

    public static bool IsReserved(string name) => Names.Contains(Fold(name));
}
