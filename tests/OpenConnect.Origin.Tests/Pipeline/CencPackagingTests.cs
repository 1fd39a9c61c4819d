using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Ingest;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Cenc;
using OpenConnect.Origin.Protection;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>A protected title through the whole pipeline: encrypted CMAF with its key from the origin's key store, signalled in both manifests, H.264 only.</summary>
public sealed class CencPackagingTests
{
    [Fact]
    public async Task ProtectedTitle_IsEncryptedAndSignalled_AndDecodesOnlyWithItsKey()
    {
        var widevine = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed";
        await using var pipeline = await PipelineHarness.StartAsync(
            null,
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=2",
            "--Origin:Pipeline:Codecs:0=h264",
            "--Origin:Pipeline:Codecs:1=hevc",
            "--Origin:Pipeline:Protection:Systems:0:Name=Widevine",
            $"--Origin:Pipeline:Protection:Systems:0:SystemId={widevine}",
            "--Origin:Pipeline:Protection:Systems:0:PsshData=CAESEJ60BQ3kS0gCky4n11CD4mY=",
            $"--Origin:Pipeline:Protection:Systems:0:HlsKeyFormat=urn:uuid:{widevine}");
        var source = await PipelineMedia.ClipAsync(256, 144, 4);
        var submission = await SubmitAsync(pipeline, source, "true");
        Assert.True(submission.Accepted, submission.Reason);
        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(3));
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());
        Assert.True(title.GetProperty("protected").GetBoolean());

        // H.264 only: the configured HEVC rung is not produced for a protected title.
        Assert.Equal(["144p"], title.GetProperty("renditions").EnumerateArray().Select(r => r.GetProperty("name").GetString()));

        var id = submission.TitleId;
        Assert.True(pipeline.Origin.Services.GetRequiredService<ITitleKeys>().TryGet(id, out var key), "the protected title has no key in the key store");
        var master = await pipeline.Client.GetStringAsync($"/v/{id}/master.m3u8");
        var keyIdBase64 = Convert.ToBase64String(key.KeyId);
        Assert.Contains($"#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,{keyIdBase64}\",KEYID=0x{Convert.ToHexString(key.KeyId)},KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n", master);
        Assert.Matches($"#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,[A-Za-z0-9+/=]+\",KEYID=0x[0-9A-F]{{32}},KEYFORMAT=\"urn:uuid:{widevine}\"", master);
        foreach (var rendition in new[] { "144p", "audio" })
        {
            var media = await pipeline.Client.GetStringAsync($"/v/{id}/{rendition}/index.m3u8");
            Assert.Equal(2, Regex.Count(media, "^#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,", RegexOptions.Multiline));
            Assert.True(media.IndexOf("#EXT-X-KEY:", StringComparison.Ordinal) < media.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal), "the key applies to the init segment too");
        }

        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var mpd = XDocument.Parse(await pipeline.Client.GetStringAsync($"/v/{id}/manifest.mpd"));
        var sets = mpd.Descendants(ns + "AdaptationSet").ToList();
        Assert.Equal(2, sets.Count);
        foreach (var set in sets)
        {
            var protections = set.Elements(ns + "ContentProtection").ToList();
            Assert.Equal(["urn:mpeg:dash:mp4protection:2011", "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e", $"urn:uuid:{widevine}"], protections.Select(p => (string?)p.Attribute("schemeIdUri")));
            Assert.Equal("cenc", (string?)protections[0].Attribute("value"));
            Assert.Equal(key.KeyIdUuid, (string?)protections[0].Attribute(CencSignalling.CencNamespace + "default_KID"));
            Assert.Equal("ClearKey1.0", (string?)protections[1].Attribute("value"));
            Assert.Empty(protections[1].Elements()); // dash.js reads the key id from default_KID ('keyids'); steering adds the licence URL
            var widevinePssh = Pssh.Parse(Mp4Box.ParseAll(Convert.FromBase64String(protections[2].Element(CencSignalling.CencNamespace + "pssh")!.Value))[0].Payload);
            Assert.Equal(Convert.FromBase64String("CAESEJ60BQ3kS0gCky4n11CD4mY="), widevinePssh.Data);
            Assert.True(set.Elements().TakeWhile(e => e.Name.LocalName != "Representation").Count() >= 3, "ContentProtection comes before the Representations");
        }

        // Every init segment carries the pssh boxes; the media decode to frames only with the key.
        using var directory = new TempDirectory("openconnect-cenc-pipeline");
        foreach (var rendition in new[] { "144p", "audio" })
        {
            var init = await File.ReadAllBytesAsync(pipeline.Published(id, rendition, "init.mp4"));
            var moov = Mp4Box.ParseAll(init).Single(b => b.Type == "moov");
            Assert.Equal([Pssh.CommonSystemId, Guid.Parse(widevine)], moov.Children!.Where(c => c.Type == "pssh").Select(c => Pssh.Parse(c.Payload).SystemId));
            Assert.Equal(key.KeyId, moov.Find("tenc")!.Payload[8..24]);

            var segments = Directory.GetFiles(pipeline.Published(id, rendition), "seg-*.m4s").Order(StringComparer.Ordinal).ToList();
            Assert.True(segments.Count >= 2);
            foreach (var segment in segments)
            {
                var joined = directory.Combine($"{rendition}-{Path.GetFileNameWithoutExtension(segment)}.mp4");
                await File.WriteAllBytesAsync(joined, [.. init, .. await File.ReadAllBytesAsync(segment)]);
                var withKey = await DecodeAsync(joined, Convert.ToHexStringLower(key.Key));
                Assert.True(withKey.ExitCode == 0 && withKey.StandardError.Length == 0, withKey.StandardError);
                Assert.Contains(",", withKey.StandardOutput.Split('\n').Last(l => l.Length > 0));
                var withoutKey = await DecodeAsync(joined, null);
                Assert.True(withoutKey.ExitCode != 0 || withoutKey.StandardError.Length > 0, $"{rendition}/{Path.GetFileName(segment)} decoded cleanly without the key");
                Assert.NotEqual(withKey.StandardOutput, withoutKey.StandardOutput);
            }
        }
    }

    [Fact]
    public async Task TusCreation_RefusesAProtectedValueOtherThanTrueOrFalse()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null);
        async Task<HttpResponseMessage> CreateAsync(string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/files");
            request.Headers.Add("Tus-Resumable", "1.0.0");
            request.Headers.Add("Upload-Length", "10");
            request.Headers.Add("Upload-Metadata", "filename " + Convert.ToBase64String(Encoding.UTF8.GetBytes("a.mp4")) + ",protected " + Convert.ToBase64String(Encoding.UTF8.GetBytes(value)));
            return await pipeline.Client.SendAsync(request);
        }

        using var refused = await CreateAsync("maybe");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("Upload-Metadata value of 'protected' must be true or false, not 'maybe'", await refused.Content.ReadAsStringAsync());
        using var accepted = await CreateAsync("true");
        Assert.Equal(System.Net.HttpStatusCode.Created, accepted.StatusCode);
    }

    [Theory]
    [InlineData("true", null)]
    [InlineData("false", null)]
    [InlineData("yes", "Upload-Metadata value of 'protected' must be true or false, not 'yes'")]
    [InlineData("", "Upload-Metadata value of 'protected' must be true or false, not ''")]
    public void UploadMetadata_ProtectedIsTrueOrFalse(string value, string? error)
    {
        var header = "filename " + Convert.ToBase64String(Encoding.UTF8.GetBytes("a.mp4")) + ",protected" + (value.Length > 0 ? " " + Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) : "");
        Assert.Equal(error, UploadMetadata.TryParse(header, out var metadata));
        if (error is null)
        {
            Assert.Equal(value, metadata["protected"]);
        }
    }

    private static async Task<TitleSubmission> SubmitAsync(PipelineHarness pipeline, string file, string isProtected)
    {
        var upload = Path.Combine(pipeline.Uploads, Guid.NewGuid().ToString("N"));
        File.Copy(file, upload);
        var metadata = new Dictionary<string, string> { ["filename"] = Path.GetFileName(file), ["title"] = "protected", [TitleRecord.ProtectedKey] = isProtected };
        return await pipeline.Intake.SubmitAsync(new SourceUpload(Path.GetFileName(upload), upload, metadata), CancellationToken.None);
    }

    private static Task<ExternalProcess.Result> DecodeAsync(string file, string? key) =>
        ExternalProcess.RunAsync("ffmpeg", [.. key is null ? [] : new[] { "-decryption_key", key }, "-v", "error", "-i", file, "-f", "framemd5", "-"], TimeSpan.FromMinutes(1));
}
