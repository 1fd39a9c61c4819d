using OpenConnect.Cli;

return await OpenConnectCli.RunAsync(args, Console.Out, Console.Error);
