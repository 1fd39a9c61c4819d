namespace OpenConnect.Appliance.Serving;

/// <summary>Which transport accepts and reads the plaintext data listeners' connections.</summary>
public enum ServingTransport
{
    /// <summary>Kestrel's socket transport (the runtime's socket engine; reads continue on the thread that completed them).</summary>
    Kestrel,

    /// <summary>
    /// The appliance's own epoll transport (Linux only): one epoll thread per core owns each accepted
    /// socket, and a request is parsed, looked up and its sendfile(2) started on the thread that saw
    /// the socket readable.
    /// </summary>
    Epoll,
}

/// <summary>How the data listeners take connections (section <c>Appliance:Serving</c>).</summary>
public sealed class ServingOptions
{
    /// <summary>
    /// The transport of the plaintext data listeners (<c>http://</c> entries of <c>urls</c>): <c>Kestrel</c>
    /// (default) or <c>Epoll</c>, a run-to-completion transport with one epoll thread per core that owns
    /// each accepted socket, Linux only. HTTPS data listeners, the parent listener, the control and
    /// management listeners always stay on Kestrel's socket transport. Connection limits, timeouts,
    /// the slow-reader cut-off and graceful shutdown behave the same on both. Default <c>Kestrel</c>.
    /// </summary>
    public ServingTransport Transport { get; set; } = ServingTransport.Kestrel;

    /// <summary>
    /// Compile the request path (parsing, access checks, cache lookup, both tiers, the senders and
    /// transports) with the JIT before the listeners open, so the first requests after a start do not wait
    /// for it; <c>/healthz</c> answers once it is done (a few hundred milliseconds to a few seconds, depending
    /// on the machine). Tiered compilation is off in the appliance, so without it each method is compiled,
    /// fully optimized, on its first call by a request. Default <c>true</c>.
    /// </summary>
    public bool CompileAtStart { get; set; } = true;

    public void Validate(OpenConnect.Hosting.OptionsCheck check)
    {
        check.Require(Enum.IsDefined(Transport), "Serving:Transport", Transport, "must be Kestrel or Epoll");
        check.Require(Transport != ServingTransport.Epoll || OperatingSystem.IsLinux(), "Serving:Transport", Transport, "Epoll needs Linux; use Kestrel on this system");
    }
}
