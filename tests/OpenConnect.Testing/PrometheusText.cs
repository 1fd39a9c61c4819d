using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenConnect.Testing;

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4). It returns every
/// violation it finds, so a test can assert that an endpoint's output is valid and read values back.
/// </summary>
public static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed record Family(string Name, string Type, string? Help, List<Sample> Samples);

    public sealed record Document(IReadOnlyDictionary<string, Family> Families, IReadOnlyList<string> Errors)
    {
        public bool IsValid => Errors.Count == 0;

        /// <summary>The value of the sample with exactly this name and these labels, or null.</summary>
        public double? Value(string sampleName, params (string Name, string Value)[] labels)
        {
            foreach (var family in Families.Values)
            {
                foreach (var sample in family.Samples)
                {
                    if (sample.Name == sampleName && sample.Labels.Count == labels.Length && labels.All(l => sample.Labels.TryGetValue(l.Name, out var v) && v == l.Value))
                    {
                        return sample.Value;
                    }
                }
            }

            return null;
        }
    }

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    public static Document Parse(string text)
    {
        var errors = new List<string>();
        var families = new Dictionary<string, Family>();
        var closed = new HashSet<string>();
        var seenSamples = new HashSet<string>();
        Family? current = null;
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            errors.Add("exposition must end with a line feed");
        }

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var at = $"line {i + 1}";
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && (parts[1] == "HELP" || parts[1] == "TYPE"))
                {
                    var name = parts[2];
                    if (!MetricName().IsMatch(name))
                    {
                        errors.Add($"{at}: invalid metric name '{name}'");
                        continue;
                    }

                    if (current?.Name != name)
                    {
                        if (current is not null)
                        {
                            closed.Add(current.Name);
                        }

                        if (closed.Contains(name))
                        {
                            errors.Add($"{at}: metric family '{name}' appears in more than one group");
                        }

                        current = families.TryGetValue(name, out var existing) ? existing : families[name] = new Family(name, "untyped", null, []);
                    }

                    if (parts[1] == "TYPE")
                    {
                        var type = parts.Length > 3 ? parts[3] : "";
                        if (!Types.Contains(type))
                        {
                            errors.Add($"{at}: unknown type '{type}' for '{name}'");
                        }
                        else if (current.Samples.Count > 0)
                        {
                            errors.Add($"{at}: TYPE for '{name}' after its samples");
                        }

                        families[name] = current = current with { Type = type };
                    }
                    else
                    {
                        families[name] = current = current with { Help = parts.Length > 3 ? parts[3] : "" };
                    }
                }

                continue;
            }

            if (!TryParseSample(line, out var sample, out var error))
            {
                errors.Add($"{at}: {error}");
                continue;
            }

            var familyName = FamilyOf(sample.Name, current);
            if (current is null || current.Name != familyName)
            {
                if (current is not null)
                {
                    closed.Add(current.Name);
                }

                if (closed.Contains(familyName))
                {
                    errors.Add($"{at}: samples of '{familyName}' are not contiguous");
                }

                current = families.TryGetValue(familyName, out var existing) ? existing : families[familyName] = new Family(familyName, "untyped", null, []);
            }

            var identity = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}";
            if (!seenSamples.Add(identity))
            {
                errors.Add($"{at}: duplicate sample {identity}");
            }

            current.Samples.Add(sample);
        }

        foreach (var family in families.Values.Where(f => f.Type == "histogram"))
        {
            CheckHistogram(family, errors);
        }

        return new Document(families, errors);
    }

    private static string FamilyOf(string sampleName, Family? current)
    {
        if (current is not null && current.Type is "histogram" or "summary")
        {
            foreach (var suffix in (string[])["_bucket", "_sum", "_count"])
            {
                if (sampleName == current.Name + suffix)
                {
                    return current.Name;
                }
            }
        }

        return sampleName;
    }

    private static void CheckHistogram(Family family, List<string> errors)
    {
        foreach (var series in family.Samples.Where(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal))
                     .GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value))))
        {
            var buckets = series.Select(s => (Le: s.Labels.TryGetValue("le", out var le) ? ParseValue(le) : double.NaN, s.Value)).ToList();
            if (buckets.Any(b => double.IsNaN(b.Le)))
            {
                errors.Add($"histogram '{family.Name}' has a bucket without a numeric le label");
                continue;
            }

            if (!buckets.Any(b => double.IsPositiveInfinity(b.Le)))
            {
                errors.Add($"histogram '{family.Name}' lacks the le=\"+Inf\" bucket");
            }

            var ordered = buckets.OrderBy(b => b.Le).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].Value < ordered[i - 1].Value)
                {
                    errors.Add($"histogram '{family.Name}' bucket counts decrease at le={ordered[i].Le}");
                }
            }
        }
    }

    private static bool TryParseSample(string line, out Sample sample, out string error)
    {
        sample = null!;
        var nameEnd = 0;
        while (nameEnd < line.Length && line[nameEnd] != '{' && line[nameEnd] != ' ')
        {
            nameEnd++;
        }

        var name = line[..nameEnd];
        if (!MetricName().IsMatch(name))
        {
            error = $"invalid metric name '{name}'";
            return false;
        }

        var labels = new Dictionary<string, string>();
        var pos = nameEnd;
        if (pos < line.Length && line[pos] == '{')
        {
            pos++;
            while (true)
            {
                if (pos < line.Length && line[pos] == '}')
                {
                    pos++;
                    break;
                }

                var eq = line.IndexOf('=', pos);
                if (eq < 0)
                {
                    error = "unterminated label set";
                    return false;
                }

                var labelName = line[pos..eq];
                if (!LabelName().IsMatch(labelName))
                {
                    error = $"invalid label name '{labelName}'";
                    return false;
                }

                if (eq + 1 >= line.Length || line[eq + 1] != '"')
                {
                    error = $"label '{labelName}' value is not quoted";
                    return false;
                }

                var value = new System.Text.StringBuilder();
                var j = eq + 2;
                var terminated = false;
                for (; j < line.Length; j++)
                {
                    var c = line[j];
                    if (c == '\\')
                    {
                        if (j + 1 >= line.Length || line[j + 1] is not ('\\' or '"' or 'n'))
                        {
                            error = $"invalid escape in label '{labelName}'";
                            return false;
                        }

                        value.Append(line[j + 1] == 'n' ? '\n' : line[j + 1]);
                        j++;
                    }
                    else if (c == '"')
                    {
                        terminated = true;
                        break;
                    }
                    else
                    {
                        value.Append(c);
                    }
                }

                if (!terminated)
                {
                    error = $"label '{labelName}' value is not terminated";
                    return false;
                }

                if (!labels.TryAdd(labelName, value.ToString()))
                {
                    error = $"label '{labelName}' repeated";
                    return false;
                }

                pos = j + 1;
                if (pos < line.Length && line[pos] == ',')
                {
                    pos++;
                }
            }
        }

        if (pos >= line.Length || line[pos] != ' ')
        {
            error = "missing value";
            return false;
        }

        var fields = line[(pos + 1)..].Split(' ');
        if (fields.Length is < 1 or > 2 || !TryParseValue(fields[0], out var number))
        {
            error = $"invalid value '{line[(pos + 1)..]}'";
            return false;
        }

        if (fields.Length == 2 && !long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            error = $"invalid timestamp '{fields[1]}'";
            return false;
        }

        sample = new Sample(name, labels, number);
        error = "";
        return true;
    }

    private static double ParseValue(string text) => TryParseValue(text, out var v) ? v : double.NaN;

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case "NaN":
                value = double.NaN;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }
}
