using System.Text.Json;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>Waits on a started <see cref="SteeredStack"/> that several fixtures share.</summary>
internal static class SteeredStackWaits
{
    /// <summary>
    /// Polls steering's <c>/play/{title}</c> until its DASH pathways number at least
    /// <paramref name="pathways"/> (the appliances registered, plus the origin), or fails after 30 s
    /// with the last answer.
    /// </summary>
    public static async Task WaitForPathwaysAsync(this SteeredStack stack, string titleId, int pathways)
    {
        using var client = stack.Steering.CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var play = JsonDocument.Parse(await client.GetStringAsync($"/play/{titleId}"));
            if (play.RootElement.GetProperty("dash").GetProperty("pathways").GetArrayLength() >= pathways)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"steering never offered {pathways} pathways: {play.RootElement}");
            await Task.Delay(100);
        }
    }
}
