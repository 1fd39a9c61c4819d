namespace OpenConnect.Launcher.Processes;

/// <summary>The last lines of a log file that its writer may still be appending to.</summary>
public static class LogTail
{
    public static string Read(string file, int lines)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var all = reader.ReadToEnd().TrimEnd('\n').Split('\n');
            return string.Join('\n', all[Math.Max(0, all.Length - lines)..]);
        }
        catch (IOException ex)
        {
            return $"({file}: {ex.Message})";
        }
    }
}
