using OpenConnect.Appliance;
using OpenConnect.Contracts.Hosting;

return await RoleHost.RunRoleAsync(ApplianceHost.RoleName, ApplianceHost.Build, args);
