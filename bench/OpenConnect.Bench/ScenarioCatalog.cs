namespace OpenConnect.Bench;

public static class ScenarioCatalog
{
    public static IEnumerable<IScenario> All =>
    [
        new Throughput.ThroughputScenario(),
        new CacheSim.CacheSimScenario(),
        new Ingest.IngestScenario(),
        new Steering.SteeringScenario(),
        new Transcode.TranscodeScenario(),
        new LadderBench.LadderScenario(),
        new Catalog.CatalogScenario(),
        new Ttff.TtffScenario(),
        new Players.PlayersScenario(),
        new Fleet.FleetScenario(),

        new FillSim.FillSimScenario(),
    ];
}
