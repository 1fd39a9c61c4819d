using OpenConnect.Testing;

namespace OpenConnect.Packaging.Tests;

/// <summary>build.sh refuses bad arguments with a message and a non-zero exit, before building anything.</summary>
public sealed class BuildScriptTests
{
    [Theory]
    [InlineData("unknown role 'bogus'", "--role", "bogus")]
    [InlineData("--role needs a value", "--role")]
    [InlineData("--out needs a directory", "--out")]
    [InlineData("unknown compression 'lzma'", "--compression", "lzma")]
    [InlineData("unknown argument '--frobnicate'", "--frobnicate")]
    public async Task BadArguments_ExitNonZero_WithAMessage(string message, params string[] arguments)
    {
        using var output = new TempDirectory("openconnect-build");
        var result = await Packaging.RunAsync("bash", [Packaging.BuildScript, .. arguments]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StandardError);
        Assert.DoesNotContain("dotnet publish", result.StandardOutput);
    }

    [Fact]
    public async Task NoPublish_WithoutPublishedBinaries_SaysWhatIsMissing()
    {
        using var output = new TempDirectory("openconnect-build");
        var result = await Packaging.RunAsync("bash", [Packaging.BuildScript, "--role", "fill-controller", "--out", output.Path, "--no-publish"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{output.Path}/publish/fill-controller/OpenConnect.FillController is missing: publish first", result.StandardError);
        Assert.Empty(Directory.GetFiles(output.Path, "*.deb"));
    }

    [Fact]
    public async Task Help_ListsTheOptions()
    {
        var result = await Packaging.RunAsync("bash", [Packaging.BuildScript, "--help"]);
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--role ROLE", "--out DIR", "--no-publish", "--compression TYPE" })
        {
            Assert.Contains(option, result.StandardError);
        }
    }
}
