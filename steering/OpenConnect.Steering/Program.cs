using OpenConnect.Hosting;
using OpenConnect.Steering;

return await RoleHost.RunRoleAsync(SteeringHost.RoleName, SteeringHost.Build, args);
