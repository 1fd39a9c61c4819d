using OpenConnect.Appliance;
using OpenConnect.Hosting;

return await RoleHost.RunRoleAsync(ApplianceHost.RoleName, ApplianceHost.Build, args);
