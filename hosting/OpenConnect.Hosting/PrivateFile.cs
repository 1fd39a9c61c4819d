namespace OpenConnect.Hosting;

/// <summary>Secret files (keys, tokens): written readable by their owner only, and refused when anyone else can read them.</summary>
public static class PrivateFile
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Writes <paramref name="text"/> to a temporary file created with mode 0600, then renames it into place.</summary>
    public static void Write(string path, string text)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Throws when group or others may read, write or execute <paramref name="path"/>.</summary>
    public static void RequireOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) != 0)
        {
            throw new InvalidOperationException($"'{path}' is readable or writable by group or others (mode {Convert.ToString((int)mode, 8)}); run chmod 600 on it");
        }
    }
}
