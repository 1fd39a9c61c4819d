namespace OpenConnect.Bench.Throughput;

/// <summary>Waits for a freshly started server to answer, failing fast when its process died.</summary>
internal static class HttpProbe
{
    public static async Task WaitUntilAsync(ChildProcess process, string url, string name, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode} at start:\n{process.Output}");
            }

            try
            {
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{name} did not answer {url} within 60 s:\n{process.Output}");
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }
}
