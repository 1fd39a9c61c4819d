using OpenConnect.FillController;
using OpenConnect.Hosting;

return await RoleHost.RunRoleAsync(FillControllerHost.RoleName, FillControllerHost.Build, args);
