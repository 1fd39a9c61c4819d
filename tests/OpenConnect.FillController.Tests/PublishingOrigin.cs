using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin;
using OpenConnect.Origin.Publishing;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests;

/// <summary>A real origin in <c>{state}/origin</c> that has published the ffmpeg-packaged test title, with its signed integrity manifest.</summary>
internal static class PublishingOrigin
{
    public static async Task<RunningRole> StartAsync(TempDirectory state, string title)
    {
        var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={state.Combine("origin")}");
        try
        {
            var staging = state.Combine("staging");
            await PackagedTitle.CopyToAsync(staging);
            var publisher = origin.Services.GetRequiredService<ITitlePublisher>();
            await publisher.WriteIntegrityManifestAsync(title, staging, CancellationToken.None);
            await publisher.PublishAsync(title, staging, CancellationToken.None);
            return origin;
        }
        catch
        {
            await origin.DisposeAsync();
            throw;
        }
    }
}
