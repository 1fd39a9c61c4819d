using System.Globalization;

namespace OpenConnect.Launcher.Cli;

/// <summary>The <c>up</c> verb's command line (run.sh's loopback fleet).</summary>
public sealed record UpArguments(string StateDirectory, int OriginPort, int SteeringPort, int FillPort, IReadOnlyList<int> AppliancePorts, string? WebDirectory, string? RepositoryRoot, int? OwnerPid = null, int SteeringReplicas = 1)
{
    public const string Usage =
        """
        Usage: OpenConnect.Launcher up --state-dir DIR --origin-port N --steering-port N --fill-port N
                                       --appliance-ports A[,B...] [--web-dir DIR] [--root DIR] [--owner PID]
                                       [--steering-replicas N]

        Starts and enrolls the loopback fleet (steering, origin, fill controller, appliances
        appliance-1, appliance-2, … in site 'local') from the Release build under --root (default: the
        repository this launcher was built in). Each role listens on 127.0.0.1 at its port, its control
        listener on + 80, steering's enrollment on + 81, parent pulls on + 43, management on + 1000.
        Prints each role's URLs, writes DIR/fleet.env (URLs, operator certificate, fill pin, admin
        password file) and prints 'fleet ready: DIR/fleet.env'; then runs until SIGINT or SIGTERM
        (exit 0 once every role stopped), until process PID (--owner) is gone (the same), or until a
        role dies (exit 1 with its last log lines). --web-dir: the web app the origin serves at /.
        --steering-replicas N (1-9, default 1): N steering instances, the replicas steering-2, … on the
        steering port + 5, + 10, …, sharing steering's signing key, fleet CA and prefix tables; every
        appliance, the origin and the fill controller talk to all of them.
        """;

    private static readonly HashSet<string> Options = new(StringComparer.Ordinal) { "--state-dir", "--origin-port", "--steering-port", "--fill-port", "--appliance-ports", "--web-dir", "--root", "--owner", "--steering-replicas" };

    public static UpArguments Parse(IReadOnlyList<string> args)
    {
        string? state = null, web = null, root = null;
        int? origin = null, steering = null, fill = null, owner = null;
        var replicas = 1;
        List<int>? appliances = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (!Options.Contains(name))
            {
                throw new UsageException($"unknown option {name}");
            }

            var value = i + 1 < args.Count && args[i + 1].Length > 0 ? args[++i] : throw new UsageException($"{name} needs a value");
            switch (name)
            {
                case "--state-dir": state = value; break;
                case "--origin-port": origin = Port(name, value); break;
                case "--steering-port": steering = Port(name, value); break;
                case "--fill-port": fill = Port(name, value); break;
                case "--appliance-ports": appliances = [.. value.Split(',').Select(p => Port(name, p))]; break;
                case "--web-dir": web = value; break;
                case "--root": root = value; break;
                case "--steering-replicas": replicas = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= Layout.FleetLayout.MaxSteeringReplicas ? n : throw new UsageException($"--steering-replicas: '{value}' is not a number from 1 to {Layout.FleetLayout.MaxSteeringReplicas}"); break;
                case "--owner": owner = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : throw new UsageException($"--owner: '{value}' is not a process id"); break;
                default: throw new UsageException($"unknown option {name}");
            }
        }

        return new UpArguments(
            state ?? throw new UsageException("--state-dir is required"),
            origin ?? throw new UsageException("--origin-port is required"),
            steering ?? throw new UsageException("--steering-port is required"),
            fill ?? throw new UsageException("--fill-port is required"),
            appliances ?? throw new UsageException("--appliance-ports is required"),
            web,
            root,
            owner,
            replicas);
    }

    private static int Port(string option, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535 ? port : throw new UsageException($"{option}: '{value}' is not a valid port");
}
