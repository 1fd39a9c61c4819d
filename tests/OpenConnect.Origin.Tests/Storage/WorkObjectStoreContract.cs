using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>
/// What every <see cref="IWorkObjectStore"/> promises, run against each store by a subclass: put,
/// get (whole, replaced, missing), list and delete by prefix, and keys that cannot leave the work prefix.
/// </summary>
public abstract class WorkObjectStoreContract : IDisposable
{
    protected TempDirectory Directory { get; } = new("oc-work-objects");

    /// <summary>A new, empty store.</summary>
    protected abstract IWorkObjectStore CreateStore();

    [Fact]
    public async Task PutFile_ThenGetFile_GivesTheSameBytes_AndAReplacedObjectGivesTheNewOnes()
    {
        var store = CreateStore();
        var first = Write("first", StoreFiles.Pattern(300_000, 3));
        var second = Write("second", StoreFiles.Pattern(1_000, 7));

        Assert.Equal(300_000, await store.PutFileAsync("t1/source", first, CancellationToken.None));
        var got = Directory.Combine("got");
        Assert.Equal(300_000, await store.GetFileAsync("t1/source", got, CancellationToken.None));
        Assert.Equal(await File.ReadAllBytesAsync(first), await File.ReadAllBytesAsync(got));

        await store.PutFileAsync("t1/source", second, CancellationToken.None);
        Assert.Equal(1_000, await store.GetFileAsync("t1/source", got, CancellationToken.None));
        Assert.Equal(await File.ReadAllBytesAsync(second), await File.ReadAllBytesAsync(got));
        // Only the file asked for is left: no temporary beside it.
        Assert.Equal(["first", "got", "second"], System.IO.Directory.GetFiles(Directory.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task GetFile_OfAMissingObject_IsNull_AndWritesNothing()
    {
        var store = CreateStore();
        var target = Directory.Combine("missing");

        Assert.Null(await store.GetFileAsync("t1/chunks/00001-abc/720p.mp4", target, CancellationToken.None));
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task DeletePrefix_RemovesEverythingUnderIt_AndNothingElse()
    {
        var store = CreateStore();
        var file = Write("chunk", StoreFiles.Pattern(10_000, 1));
        await store.PutFileAsync("t1/source", file, CancellationToken.None);
        await store.PutFileAsync("t1/chunks/00001-a/720p.mp4", file, CancellationToken.None);
        await store.PutFileAsync("t1/chunks/00001-a/360p.mp4", file, CancellationToken.None);
        await store.PutFileAsync("t1/chunks/00002-b/720p.mp4", file, CancellationToken.None);
        await store.PutFileAsync("t10/source", file, CancellationToken.None);

        Assert.Equal(["t1/chunks/00001-a/360p.mp4", "t1/chunks/00001-a/720p.mp4"], await store.ListAsync("t1/chunks/00001-a/", CancellationToken.None));
        await store.DeletePrefixAsync("t1/chunks/00001-a/", CancellationToken.None);
        Assert.Equal(["t1/chunks/00002-b/720p.mp4", "t1/source"], await store.ListAsync("t1/", CancellationToken.None));

        await store.DeletePrefixAsync("t1/", CancellationToken.None);
        Assert.Empty(await store.ListAsync("t1/", CancellationToken.None));
        // A title whose id starts with another's keeps its objects.
        Assert.Equal(["t10/source"], await store.ListAsync("t10/", CancellationToken.None));
        await store.DeletePrefixAsync("nothing-here/", CancellationToken.None);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../published/t1/current")]
    [InlineData("t1/../../x")]
    [InlineData("/t1/source")]
    [InlineData("t1//source")]
    [InlineData("t1/./source")]
    [InlineData("t1/sou rce")]
    [InlineData("t1\\source")]
    public async Task KeysThatCouldLeaveTheWorkPrefix_AreRefused(string key)
    {
        var store = CreateStore();
        var file = Write("f", [1, 2, 3]);

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutFileAsync(key, file, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetFileAsync(key, Directory.Combine("out"), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeletePrefixAsync(key + "/", CancellationToken.None));
    }

    public void Dispose()
    {
        Directory.Dispose();
        GC.SuppressFinalize(this);
    }

    private string Write(string name, byte[] content)
    {
        var path = Directory.Combine(name);
        File.WriteAllBytes(path, content);
        return path;
    }
}

/// <summary>The work object contract on the local store: files under a directory beside the published titles.</summary>
public sealed class LocalWorkObjectStoreContractTests : WorkObjectStoreContract
{
    protected override IWorkObjectStore CreateStore() => new LocalObjectStore(Directory.Combine("store", "published"), Directory.Combine("store", "work-objects"));
}

/// <summary>The work object contract on the S3 store, against s3rver.</summary>
public sealed class S3WorkObjectStoreContractTests(S3rverFixture s3) : WorkObjectStoreContract, IClassFixture<S3rverFixture>
{
    protected override IWorkObjectStore CreateStore() => s3.Store();
}
