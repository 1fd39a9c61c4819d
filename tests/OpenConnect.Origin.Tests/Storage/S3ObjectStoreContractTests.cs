using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>The contract on the S3 store, against s3rver.</summary>
public sealed class S3ObjectStoreContractTests(S3rverFixture s3) : ObjectStoreContract, IClassFixture<S3rverFixture>
{
    protected override IObjectStore CreateStore() => s3.Store();
}
