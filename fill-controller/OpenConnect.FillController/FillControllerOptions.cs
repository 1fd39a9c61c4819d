using OpenConnect.FillController.Discovery;
using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.Placement;
using OpenConnect.Hosting;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController;

/// <summary>FillController settings (section <c>FillController</c>).</summary>
public sealed class FillControllerOptions : IRoleOptions<FillControllerOptions>
{
    public static string SectionName => "FillController";

    /// <summary>Directory holding play history and fill plans (with <c>Database:Provider=Sqlite</c>) and the default fleet certificate paths. Default <c>.openconnect/fill-controller</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".openconnect", "fill-controller");

    /// <summary>Where the state is kept: SQLite files in <see cref="DataDirectory"/> (default) or PostgreSQL (section <c>FillController:Database</c>).</summary>
    public DatabaseOptions Database { get; set; } = new();

    /// <summary>Steering (section <c>FillController:Steering</c>). Default URL <c>http://127.0.0.1:8200</c>.</summary>
    public ServiceEndpointOptions Steering { get; set; } = new() { Url = "http://127.0.0.1:8200" };

    /// <summary>The origin (section <c>FillController:Origin</c>). Default URL <c>http://127.0.0.1:8100</c>.</summary>
    public ServiceEndpointOptions Origin { get; set; } = new() { Url = "http://127.0.0.1:8100" };

    /// <summary>How often SRV names are resolved again. Default 30 s.</summary>
    public TimeSpan ResolveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often play history is collected from steering and the origin. Default 5 min.</summary>
    public TimeSpan CollectInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Popularity forecast (section <c>FillController:Forecast</c>).</summary>
    public ForecastOptions Forecast { get; set; } = new();

    /// <summary>Placement (section <c>FillController:Placement</c>).</summary>
    public PlannerOptions Placement { get; set; } = new();

    /// <summary>The fill controller's fleet certificate and the fleet CA (section <c>FillController:Fleet</c>).</summary>
    public Fleet.FleetClientOptions Fleet { get; set; } = new();

    /// <summary>Fill protocol, windows and sites (section <c>FillController:Fill</c>).</summary>
    public Fill.FillOptions Fill { get; set; } = new();

    public void Validate(OptionsCheck check)
    {
        check.Require(CollectInterval >= TimeSpan.FromSeconds(1), "CollectInterval", CollectInterval, "must be at least 00:00:01");
        Forecast.Validate(check, "Forecast");
        Placement.Validate(check, "Placement");
        Fill.Validate(check);
        Database.Validate(check, "Database");
        Fleet.Validate(check);
        Steering.Validate(check, "Steering");
        Origin.Validate(check, "Origin");
        check.Require(Steering.OperatorTokenFile.Length == 0, "Steering:OperatorTokenFile", Steering.OperatorTokenFile, "is no longer used: the fill controller reads steering's /history/plays with its fleet certificate on steering's control listener (Fill:SteeringControlUrl); remove the setting");
        check.Require(Origin.OperatorTokenFile.Length == 0, "Origin:OperatorTokenFile", Origin.OperatorTokenFile, "is not used: the fill controller holds no operator token");
        check.Require(ResolveInterval >= TimeSpan.FromSeconds(1), "ResolveInterval", ResolveInterval, "must be at least 00:00:01");
        check.Require(!string.IsNullOrWhiteSpace(DataDirectory), "DataDirectory", DataDirectory, "must name a directory");
    }
}
