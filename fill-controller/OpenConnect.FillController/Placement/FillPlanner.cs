using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Placement;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.Placement;

/// <summary>
/// Decides which files each appliance of a site holds tomorrow: a greedy fill of every
/// appliance's capacity in order of expected requests, each copy placed along the title's
/// rendezvous ranking of the site's appliances (the ranking steering sends players by).
/// </summary>
/// <remarks>
/// <para>Every file is filled whole, so expected requests per byte stored is the file's expected
/// requests: sorting by it is the greedy knapsack order. A copy the site did not hold yesterday
/// pays <see cref="PlannerOptions.FetchCostRequests"/>, so it displaces a held file only when it is
/// expected to be requested that many times more. The cost orders, it does not exclude: room that
/// no held file and no newcomer above its cost wants still takes newcomers expected below their
/// cost, most requested first. The fetch moves bytes in the off-peak window, and room left empty
/// goes to the pull cache, which gains almost nothing from it: what is left for pull is the tail,
/// re-read too rarely for an eviction policy to keep, while a pinned tail file serves every play it
/// gets (bench/RESULTS.md, fill-sim run 5).</para>
/// <para>A file gets one copy per <see cref="PlannerOptions.CopyLoadShare"/> of an average
/// appliance's expected requests, at most one per appliance; copy <c>k</c> is worth 1/k of the
/// file's requests, so extra copies only take room the tail would use less.</para>
/// <para>A copy held yesterday goes back to an appliance that held it; when none has room left it
/// becomes a newcomer (its priority minus the fetch cost). A newcomer goes to the first appliance of
/// the title's ranking (weighted by capacity, as steering weights) that does not hold the file yet
/// and has room. Removing an appliance therefore re-places only the files it held (and, in a full
/// site, the colder files those displace).</para>
/// <para>Pure and deterministic: ties break on file id and appliance id, ordinal.</para>
/// </remarks>
public sealed class FillPlanner : IPlacementPlanner
{
    private readonly PlannerOptions _options;

    public FillPlanner(PlannerOptions options)
    {
        var check = new OptionsCheck("FillController:Placement");
        options.Validate(check, "");
        if (check.Errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", check.Errors), nameof(options));
        }

        _options = options;
    }

    public FillPlanner(IOptions<FillControllerOptions> options)
        : this(options.Value.Placement)
    {
    }

    public SitePlacement Plan(string site, DateOnly day, IReadOnlyList<PlacementAppliance> appliances, IReadOnlyList<FileForecast> forecast, SitePlacement? previous)
    {
        ArgumentException.ThrowIfNullOrEmpty(site);
        var free = new Dictionary<string, long>(appliances.Count, StringComparer.Ordinal);
        foreach (var appliance in appliances)
        {
            if (appliance.CapacityBytes < 0)
            {
                throw new ArgumentException($"appliance '{appliance.ApplianceId}' has a negative capacity ({appliance.CapacityBytes} bytes)", nameof(appliances));
            }

            if (!free.TryAdd(appliance.ApplianceId, appliance.CapacityBytes))
            {
                throw new ArgumentException($"appliance '{appliance.ApplianceId}' is listed twice", nameof(appliances));
            }
        }

        var placed = new Dictionary<string, List<FileId>>(appliances.Count, StringComparer.Ordinal);
        foreach (var appliance in appliances)
        {
            placed[appliance.ApplianceId] = [];
        }

        var heldBy = HeldYesterday(previous, free);
        var queue = Candidates(forecast, appliances.Count, heldBy);
        var rankings = new Dictionary<string, PlacementAppliance[]>(StringComparer.Ordinal);
        var holders = new Dictionary<FileId, List<string>>();
        while (queue.TryDequeue(out var candidate, out _))
        {
            var file = candidate.File.File;
            var bytes = candidate.File.Bytes;
            if (!holders.TryGetValue(file, out var has))
            {
                has = new List<string>(1);
                holders[file] = has;
            }

            string? target;
            if (candidate.Held)
            {
                target = HeldTarget(heldBy, file, has, free, bytes);
                if (target is null)
                {
                    // Its appliances have no room left for it: elsewhere it is a fetch like any newcomer.
                    Enqueue(queue, candidate with { Held = false, Priority = candidate.Priority - _options.FetchCostRequests });
                    continue;
                }
            }
            else
            {
                target = RankedTarget(Ranking(rankings, file.Title, appliances), has, free, bytes);
                if (target is null)
                {
                    continue;
                }
            }

            free[target] -= bytes;
            has.Add(target);
            placed[target].Add(file);
        }

        var byAppliance = new SortedDictionary<string, IReadOnlyList<FileId>>(StringComparer.Ordinal);
        foreach (var (id, files) in placed)
        {
            byAppliance[id] = files;
        }

        return new SitePlacement(site, day, byAppliance);
    }

    /// <summary>The appliances (present today) that held each file yesterday, in id order.</summary>
    private static Dictionary<FileId, List<string>> HeldYesterday(SitePlacement? previous, Dictionary<string, long> present)
    {
        var held = new Dictionary<FileId, List<string>>();
        if (previous is null)
        {
            return held;
        }

        foreach (var (id, files) in previous.ByAppliance.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!present.ContainsKey(id))
            {
                continue;
            }

            foreach (var file in files)
            {
                if (!held.TryGetValue(file, out var list))
                {
                    list = new List<string>(1);
                    held[file] = list;
                }

                list.Add(id);
            }
        }

        return held;
    }

    private PriorityQueue<Candidate, Candidate> Candidates(IReadOnlyList<FileForecast> forecast, int applianceCount, Dictionary<FileId, List<string>> heldBy)
    {
        var queue = new PriorityQueue<Candidate, Candidate>(forecast.Count, CandidateOrder.Instance);
        if (applianceCount == 0)
        {
            return queue;
        }

        var seen = new HashSet<FileId>();
        var total = 0.0;
        foreach (var file in forecast)
        {
            if (!seen.Add(file.File))
            {
                throw new ArgumentException($"file '{file.File}' is forecast twice", nameof(forecast));
            }

            if (file.Bytes < 0 || !double.IsFinite(file.ExpectedRequests) || file.ExpectedRequests < 0)
            {
                throw new ArgumentException($"file '{file.File}' has a negative size or an invalid expected request count", nameof(forecast));
            }

            total += file.ExpectedRequests;
        }

        var perCopy = _options.CopyLoadShare * total / applianceCount;
        foreach (var file in forecast)
        {
            if (file.Bytes == 0 || file.ExpectedRequests <= 0)
            {
                continue;
            }

            var copies = (int)Math.Clamp(Math.Ceiling(file.ExpectedRequests / perCopy), 1, applianceCount);
            var held = heldBy.TryGetValue(file.File, out var list) ? list.Count : 0;
            for (var k = 1; k <= copies; k++)
            {
                var isHeld = k <= held;
                Enqueue(queue, new Candidate(file, k, (file.ExpectedRequests / k) - (isHeld ? 0 : _options.FetchCostRequests), isHeld));
            }
        }

        return queue;
    }

    /// <summary>Queues a copy whatever its priority: every candidate is expected to be requested (a newcomer below its fetch cost only comes after every copy above it).</summary>
    private static void Enqueue(PriorityQueue<Candidate, Candidate> queue, Candidate candidate) => queue.Enqueue(candidate, candidate);

    private static string? HeldTarget(Dictionary<FileId, List<string>> heldBy, FileId file, List<string> has, Dictionary<string, long> free, long bytes)
    {
        if (!heldBy.TryGetValue(file, out var held))
        {
            return null;
        }

        foreach (var id in held)
        {
            if (!has.Contains(id) && free[id] >= bytes)
            {
                return id;
            }
        }

        return null;
    }

    private static string? RankedTarget(PlacementAppliance[] ranking, List<string> has, Dictionary<string, long> free, long bytes)
    {
        foreach (var appliance in ranking)
        {
            if (!has.Contains(appliance.ApplianceId) && free[appliance.ApplianceId] >= bytes)
            {
                return appliance.ApplianceId;
            }
        }

        return null;
    }

    /// <summary>The site's appliances in the title's rendezvous order (weighted by capacity), best first.</summary>
    public static PlacementAppliance[] Ranking(string title, IReadOnlyList<PlacementAppliance> appliances)
    {
        var hash = Rendezvous.HashTitle(title);
        var ranked = appliances.ToArray();
        var scores = Array.ConvertAll(ranked, a => Rendezvous.Score(hash, Rendezvous.HashId(a.ApplianceId), a.CapacityBytes));
        var order = Enumerable.Range(0, ranked.Length)
            .OrderByDescending(i => scores[i])
            .ThenBy(i => ranked[i].ApplianceId, StringComparer.Ordinal)
            .ToArray();
        return Array.ConvertAll(order, i => ranked[i]);
    }

    private static PlacementAppliance[] Ranking(Dictionary<string, PlacementAppliance[]> cache, string title, IReadOnlyList<PlacementAppliance> appliances)
    {
        if (!cache.TryGetValue(title, out var ranking))
        {
            ranking = Ranking(title, appliances);
            cache[title] = ranking;
        }

        return ranking;
    }

    private readonly record struct Candidate(FileForecast File, int Copy, double Priority, bool Held);

    /// <summary>Highest priority first; ties by file id, then copy number (a total order, so the plan is deterministic).</summary>
    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();

        public int Compare(Candidate a, Candidate b)
        {
            var c = b.Priority.CompareTo(a.Priority);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(a.File.File.Title, b.File.File.Title);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(a.File.File.Rendition, b.File.File.Rendition);
            if (c != 0)
            {
                return c;
            }

            c = a.Copy.CompareTo(b.Copy);
            return c != 0 ? c : b.Held.CompareTo(a.Held);
        }
    }
}
