namespace OpenConnect.Hosting;

/// <summary>Collects validation failures, each naming the full configuration key.</summary>
public sealed class OptionsCheck
{
    private readonly string _section;
    private readonly List<string> _errors = [];

    public OptionsCheck(string section) => _section = section;

    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Records a failure for <paramref name="key"/> (relative to the section) when the condition is false.</summary>
    public void Require(bool condition, string key, object? value, string requirement)
    {
        if (!condition)
        {
            _errors.Add($"{FullKey(key)} = '{value}' is invalid: {requirement}");
        }
    }

    public void RequireAbsoluteHttpUri(string? value, string key, bool allowEmpty = false)
    {
        if (string.IsNullOrEmpty(value))
        {
            Require(allowEmpty, key, value, "an absolute http:// or https:// URL is required");
            return;
        }

        var ok = Uri.TryCreate(value, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
        Require(ok, key, value, "must be an absolute http:// or https:// URL");
    }

    public string FullKey(string key) => string.IsNullOrEmpty(key) ? _section : $"{_section}:{key}";
}
