namespace OpenConnect.Bench;

public static class ScenarioCatalog
{
    public static IEnumerable<IScenario> All =>
    [
        new Throughput.ThroughputScenario(),
        new CacheSim.CacheSimScenario(),
        new Ttff.TtffScenario(),
        new Steering.SteeringScenario(),
    ];
}
