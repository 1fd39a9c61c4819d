using OpenConnect.Hosting;

namespace OpenConnect.FillController.Forecast;

/// <summary>Popularity forecast settings (section <c>FillController:Forecast</c>).</summary>
public sealed class ForecastOptions
{
    /// <summary>Days of history the forecast reads (and the store keeps). Default 14.</summary>
    public int HistoryDays { get; set; } = 14;

    /// <summary>Half-life of the exponential day weights: a day this many days older counts half. Default 2 days.</summary>
    public double HalfLifeDays { get; set; } = 2.0;

    /// <summary>
    /// How many plays of region-wide shares a site's own shares are blended with: a site with far
    /// fewer daily plays than this follows the region, a busy site its own history. Default 2000.
    /// </summary>
    public double RegionPriorPlays { get; set; } = 2000;

    /// <summary>A title published within this many days before the forecast day gets the new-title prior. Default 7.</summary>
    public int NewTitleDays { get; set; } = 7;

    /// <summary>
    /// The new-title prior: a new title is expected to be as popular as the title at this rank of
    /// the site's forecast (1 = the most popular). Default 50.
    /// </summary>
    public int NewTitlePriorRank { get; set; } = 50;

    /// <summary>How many days of (weighted) history the prior counts as. Default 1.</summary>
    public double NewTitlePriorDays { get; set; } = 1.0;

    /// <summary>
    /// The least daily plays the new-title prior assumes, whatever the rank gives: a site with
    /// little or no history (a new deployment) still pushes its new titles. Default 2.
    /// </summary>
    public double NewTitlePriorMinPlays { get; set; } = 2.0;

    /// <summary>
    /// Share of a title's plays that read each video rendition, by rendition name (<c>1080p</c>) or
    /// height (<c>1080p</c> also covers <c>1080p-hevc</c>, split evenly between codecs). Shares of
    /// the renditions a title has are normalised to 1; audio renditions (<c>audio*</c>) are read by
    /// every play. Default: a typical broadband ABR mix, most plays settling on 720p/1080p.
    /// </summary>
    public Dictionary<string, double> RenditionShares { get; set; } = new(StringComparer.Ordinal)
    {
        ["2160p"] = 0.04,
        ["1440p"] = 0.04,
        ["1080p"] = 0.36,
        ["720p"] = 0.30,
        ["480p"] = 0.12,
        ["360p"] = 0.08,
        ["240p"] = 0.04,
        ["144p"] = 0.02,
    };

    /// <summary>
    /// How many plays of the configured <see cref="RenditionShares"/> a site's learned rendition mix
    /// (from the per-(title, rendition) requests its appliances report) is blended with, per ladder:
    /// a site's mix follows what its players pick once it has seen a few times this many plays of
    /// titles with that ladder. 0 uses the learned mix alone. Default 50.
    /// </summary>
    public double RenditionMixPriorPlays { get; set; } = 50;

    /// <summary>
    /// How many plays of the site's learned mix a title's own rendition requests are blended with:
    /// a title watched far more than this at a site splits by its own requests there. Default 1000 (in fill-sim, where every title of a site shares the site's mix, a title's own requests are noise: 10 offloaded slightly less).
    /// </summary>
    public double TitleRenditionPriorPlays { get; set; } = 1000;

    /// <summary>How long rendition sizes read from a title's integrity manifest are trusted. Default 1 day.</summary>
    public TimeSpan SizesLifetime { get; set; } = TimeSpan.FromDays(1);

    public void Validate(OptionsCheck check, string key)
    {
        check.Require(HistoryDays is >= 1 and <= 365, $"{key}:HistoryDays", HistoryDays, "must be 1..365");
        check.Require(HalfLifeDays > 0 && double.IsFinite(HalfLifeDays), $"{key}:HalfLifeDays", HalfLifeDays, "must be a positive number");
        check.Require(RegionPriorPlays >= 0 && double.IsFinite(RegionPriorPlays), $"{key}:RegionPriorPlays", RegionPriorPlays, "must be >= 0");
        check.Require(NewTitleDays >= 0, $"{key}:NewTitleDays", NewTitleDays, "must be >= 0");
        check.Require(NewTitlePriorRank >= 1, $"{key}:NewTitlePriorRank", NewTitlePriorRank, "must be >= 1");
        check.Require(NewTitlePriorDays >= 0 && double.IsFinite(NewTitlePriorDays), $"{key}:NewTitlePriorDays", NewTitlePriorDays, "must be >= 0");
        check.Require(NewTitlePriorMinPlays >= 0 && double.IsFinite(NewTitlePriorMinPlays), $"{key}:NewTitlePriorMinPlays", NewTitlePriorMinPlays, "must be >= 0");
        check.Require(RenditionMixPriorPlays >= 0 && double.IsFinite(RenditionMixPriorPlays), $"{key}:RenditionMixPriorPlays", RenditionMixPriorPlays, "must be >= 0");
        check.Require(TitleRenditionPriorPlays >= 0 && double.IsFinite(TitleRenditionPriorPlays), $"{key}:TitleRenditionPriorPlays", TitleRenditionPriorPlays, "must be >= 0");
        check.Require(SizesLifetime > TimeSpan.Zero, $"{key}:SizesLifetime", SizesLifetime, "must be positive");
        foreach (var (name, share) in RenditionShares)
        {
            check.Require(share >= 0 && double.IsFinite(share), $"{key}:RenditionShares:{name}", share, "must be a number >= 0");
        }
    }
}
