using OpenConnect.Contracts.Hosting;
using OpenConnect.Origin;

return await RoleHost.RunRoleAsync(OriginHost.RoleName, OriginHost.Build, args);
