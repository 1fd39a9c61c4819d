using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>The contract on the default store: files under a directory.</summary>
public sealed class LocalObjectStoreContractTests : ObjectStoreContract
{
    protected override bool ReplaceIsGapless => false;

    protected override IObjectStore CreateStore() => new LocalObjectStore(Directory.Combine("published"));
}
