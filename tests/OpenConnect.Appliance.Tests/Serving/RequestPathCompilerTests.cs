using System.Runtime.CompilerServices;
using OpenConnect.Appliance.Serving;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>The start step that compiles the request path before the listeners open (<c>Appliance:Serving:CompileAtStart</c>).</summary>
public sealed class RequestPathCompilerTests
{
    [Fact]
    public void EveryMethodOfTheRequestPath_IsAcceptedByTheRuntime()
    {
        var assemblies = new[] { typeof(SegmentServer).Assembly, typeof(Contracts.Content.ContentKey).Assembly };
        var (compiled, failed) = RequestPathCompiler.Compile(assemblies, RequestPathCompiler.Namespaces, CancellationToken.None);

        // The parser, planner, cache, tiers, senders and both transports: hundreds of methods, none refused.
        Assert.True(compiled > 300, $"only {compiled} methods compiled");
        Assert.Equal(0, failed);
    }

    [Fact]
    public void OnlyTheNamedNamespaces_AreCompiled_NotOnesThatMerelyStartTheSame()
    {
        var assemblies = new[] { typeof(RequestPathCompilerTests).Assembly };
        var (ours, _) = RequestPathCompiler.Compile(assemblies, ["OpenConnect.Appliance.Tests.Serving"], CancellationToken.None);
        var (prefixOnly, _) = RequestPathCompiler.Compile(assemblies, ["OpenConnect.Appliance.Tests.Serv"], CancellationToken.None);

        Assert.True(ours > 0);
        Assert.Equal(0, prefixOnly);
    }

    [Fact]
    public void ACancelledStart_StopsCompiling()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => RequestPathCompiler.Compile([typeof(SegmentServer).Assembly], RequestPathCompiler.Namespaces, cancelled.Token));
    }

    [Fact]
    public void AMethodCompiledAtStart_IsNotCompiledAgainOnItsFirstCall()
    {
        // RuntimeHelpers.PrepareMethod is what the step relies on: once prepared, a method's first call does not JIT.
        var method = typeof(RequestPathCompilerTests).GetMethod(nameof(Probe), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        RuntimeHelpers.PrepareMethod(method.MethodHandle);
        var before = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
        var result = Probe(41);
        var after = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
        Assert.Equal(42, result);
        Assert.Equal(before, after);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Probe(int value) => value + 1;
}
