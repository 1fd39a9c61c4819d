using OpenConnect.Hosting;
using OpenConnect.Origin;

return await RoleHost.RunRoleAsync(OriginHost.RoleName, OriginHost.Build, args);
