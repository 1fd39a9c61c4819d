using OpenConnect.Contracts.Hosting;
using OpenConnect.FillController;

return await RoleHost.RunRoleAsync(FillControllerHost.RoleName, FillControllerHost.Build, args);
