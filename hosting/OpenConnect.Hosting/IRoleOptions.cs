namespace OpenConnect.Hosting;

/// <summary>
/// An options class bound from one configuration section and validated when the host starts.
/// Defaults live in the class itself, so a role runs with no configuration file at all.
/// </summary>
public interface IRoleOptions<TSelf> where TSelf : class, IRoleOptions<TSelf>
{
    /// <summary>The configuration section, e.g. <c>Appliance</c>.</summary>
    static abstract string SectionName { get; }

    /// <summary>Reports every invalid setting; keys are relative to <see cref="SectionName"/>.</summary>
    void Validate(OptionsCheck check);
}
