using System.Globalization;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Bench.Catalog;

/// <summary>
/// A generated video catalog: titles like "Easy sourdough bread for beginners (part 3)", two to
/// five tags, two-sentence descriptions, a sprinkling of accented words, durations from shorts to
/// films, and three query sets drawn from it (exact words, misspelled words, word prefixes).
/// </summary>
internal sealed class CatalogCorpus
{
    private static readonly string[] Adjectives =
    [
        "easy", "quick", "ultimate", "complete", "beginner", "advanced", "hidden", "secret", "classic", "modern", "vintage", "homemade",
        "professional", "budget", "luxury", "minimalist", "rustic", "tropical", "alpine", "coastal", "urban", "midnight", "sunrise", "autumn",
        "winter", "summer", "spring", "legendary", "forgotten", "extreme",
    ];

    private static readonly string[] Subjects =
    [
        "sourdough bread", "strawberry cheesecake", "mountain biking", "marathon training", "street photography", "guitar chords", "piano sonata",
        "chess openings", "woodworking joints", "pottery wheel", "watercolor landscapes", "espresso brewing", "ramen noodles", "sushi rolls",
        "crème brûlée", "café culture", "São Paulo nightlife", "Zürich old town", "Ångström physics", "jalapeño salsa", "piñata party",
        "kayak fishing", "rock climbing", "bird watching", "home gardening", "tomato plants", "bonsai trees", "aquarium setup", "drone racing",
        "3d printing", "mechanical keyboards", "retro consoles", "speedrun strategy", "yoga stretches", "kettlebell workout", "calisthenics routine",
        "meditation breathing", "budget travel", "japanese temples", "iceland waterfalls", "sahara desert", "amazon rainforest", "arctic wildlife",
        "volcano eruptions", "thunderstorm chasing", "solar panels", "electric cars", "rust programming", "kubernetes clusters", "linux kernel",
        "quantum computing", "black holes", "dinosaur fossils", "roman history", "medieval castles", "jazz improvisation", "orchestra rehearsal",
        "stand up comedy", "magic tricks", "origami cranes", "knitting patterns", "leather crafting", "blacksmith forging", "beekeeping honey",
        "wine tasting", "cocktail mixing", "vegan desserts", "barbecue ribs", "pizza dough", "croissant lamination", "chocolate tempering",
    ];

    private static readonly string[] Formats =
    [
        "for beginners", "explained", "tutorial", "in 10 minutes", "masterclass", "documentary", "vlog", "review", "challenge", "tips and tricks",
        "behind the scenes", "full guide", "live session", "road trip", "deep dive", "mistakes to avoid", "on a budget", "at home", "compilation", "q&a",
    ];

    private static readonly string[] Tags =
    [
        "cooking", "baking", "travel", "fitness", "music", "gaming", "science", "history", "nature", "technology", "diy", "crafts", "art",
        "photography", "outdoors", "food", "education", "comedy", "sports", "relaxing", "howto", "documentary", "vlog", "review", "kids",
        "asmr", "4k", "shorts", "live", "español", "français", "deutsch",
    ];

    private static readonly string[] Sentences =
    [
        "In this episode we try {0} and share everything we learned along the way.",
        "A step by step look at {0}, with the tools, timings and the mistakes we made.",
        "We travelled far to film {0}; the weather did not cooperate.",
        "Everything you need to know about {0} before you start.",
        "Viewers asked for more {0}, so here is a longer session with questions answered at the end.",
        "Filmed in one take: {0} from start to finish.",
        "Subscribe for a new video every week, and tell us in the comments what to try next.",
        "Thanks to our patrons for making this possible.",
    ];

    private CatalogCorpus(List<TitleUpdate> titles, List<string> exact, List<string> misspelled, List<string> prefix)
    {
        Titles = titles;
        Exact = exact;
        Misspelled = misspelled;
        Prefix = prefix;
    }

    public List<TitleUpdate> Titles { get; }

    public List<string> Exact { get; }

    public List<string> Misspelled { get; }

    public List<string> Prefix { get; }

    public static string IdOf(int index) => "bench-" + index.ToString("D6", CultureInfo.InvariantCulture);

    public static CatalogCorpus Generate(int count, int queriesPerSet, int seed)
    {
        var random = new Random(seed);
        var titles = new List<TitleUpdate>(count);
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            var subject = Pick(random, Subjects);
            var title = $"{Capitalize(Pick(random, Adjectives))} {subject} {Pick(random, Formats)}";
            if (random.Next(4) == 0)
            {
                title += $" (part {random.Next(1, 12)})";
            }

            var tags = Enumerable.Range(0, random.Next(2, 6)).Select(_ => Pick(random, Tags)).Distinct().ToArray();
            var description = string.Format(CultureInfo.InvariantCulture, Pick(random, Sentences), subject) + " "
                + string.Format(CultureInfo.InvariantCulture, Pick(random, Sentences), Pick(random, Subjects));
            var duration = random.Next(10) switch
            {
                < 3 => random.Next(15, 60),
                < 8 => random.Next(180, 1800),
                _ => random.Next(3600, 9000),
            };
            var id = IdOf(i);
            titles.Add(new TitleUpdate
            {
                Id = id,
                Status = TitleStatus.Published,
                Title = title,
                Description = description,
                Tags = tags,
                DurationSeconds = duration,
                HlsManifestUrl = $"/v/{id}/master.m3u8",
                DashManifestUrl = $"/v/{id}/manifest.mpd",
                PosterUrl = $"/v/{id}/poster.jpg",
                StoryboardUrl = $"/v/{id}/storyboard.vtt",
                Renditions =
                [
                    new RenditionInfo("360p", 640, 360, "h264", 800_000),
                    new RenditionInfo("720p", 1280, 720, "h264", 3_000_000),
                    new RenditionInfo("1080p", 1920, 1080, "h264", 6_000_000),
                ],
                CreatedAt = start.AddMinutes(i),
                PublishedAt = start.AddMinutes(i + 30),
            });
        }

        var exact = new List<string>();
        var misspelled = new List<string>();
        var prefix = new List<string>();
        while (exact.Count < queriesPerSet || misspelled.Count < queriesPerSet || prefix.Count < queriesPerSet)
        {
            var words = TextFold.Words(titles[random.Next(count)].Title!).Where(w => w.Length >= 5 && w.All(char.IsAsciiLetter)).ToList();
            if (words.Count < 2)
            {
                continue;
            }

            var a = words[random.Next(words.Count)];
            var b = words[random.Next(words.Count)];
            if (exact.Count < queriesPerSet && a != b)
            {
                exact.Add($"{a} {b}");
            }

            if (misspelled.Count < queriesPerSet)
            {
                misspelled.Add(Misspell(random, a));
            }

            if (prefix.Count < queriesPerSet)
            {
                prefix.Add(a[..random.Next(3, Math.Min(a.Length, 6) + 1)]);
            }
        }

        return new CatalogCorpus(titles, exact, misspelled, prefix);
    }

    /// <summary>One typo: a dropped, doubled, swapped or replaced letter (not the first).</summary>
    private static string Misspell(Random random, string word)
    {
        var i = random.Next(1, word.Length - 1);
        return random.Next(4) switch
        {
            0 => word.Remove(i, 1),
            1 => word.Insert(i, word[i].ToString()),
            2 => string.Concat(word.AsSpan(0, i), word[i + 1].ToString(), word[i].ToString(), word.AsSpan(i + 2)),
            _ => string.Concat(word.AsSpan(0, i), ((char)('a' + random.Next(26))).ToString(), word.AsSpan(i + 1)),
        };
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    private static string Capitalize(string value) => char.ToUpperInvariant(value[0]) + value[1..];
}
