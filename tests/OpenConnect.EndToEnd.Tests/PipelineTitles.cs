using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>Publishes a source file through a running origin's real pipeline, for the browser tests.</summary>
internal static class PipelineTitles
{
    /// <summary>Submits a copy of <paramref name="source"/> with <paramref name="metadata"/> and waits (at most 4 minutes) until the title is published; returns its id.</summary>
    public static async Task<string> PublishAsync(RunningRole origin, string uploads, string source, Dictionary<string, string> metadata)
    {
        Directory.CreateDirectory(uploads);
        var upload = Path.Combine(uploads, Guid.NewGuid().ToString("N"));
        File.Copy(source, upload);
        var submission = await origin.Services.GetRequiredService<IPipelineIntake>().SubmitAsync(new SourceUpload(Path.GetFileName(upload), upload, metadata), CancellationToken.None);
        Assert.True(submission.Accepted, submission.Reason);
        var store = origin.Services.GetRequiredService<TitleStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (true)
        {
            var title = store.Get(submission.TitleId)!;
            if (title.State == TitleStates.Published)
            {
                return title.Id;
            }

            Assert.True(title.State is TitleStates.Queued or TitleStates.Processing, $"title {title.Id} ended {title.State}: {title.Reason}");
            Assert.True(DateTime.UtcNow < deadline, string.Create(CultureInfo.InvariantCulture, $"title {title.Id} not published within 4 minutes ({title.Step} {title.Percent}%)"));
            await Task.Delay(250);
        }
    }
}
