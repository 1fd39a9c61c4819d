using System.Collections;
using System.Globalization;
using System.Reflection;
using OpenConnect.Hosting;

namespace OpenConnect.ConfigDocs;

/// <summary>One configuration key: its full path, the kind of value it takes, its default and what it does.</summary>
public sealed record OptionRow(string Key, string Type, string Default, string Description);

/// <summary>The keys one Options class binds (section <see cref="Key"/>), with the class's own summary.</summary>
public sealed record OptionsSection(string Key, string Summary, IReadOnlyList<OptionRow> Rows);

/// <summary>A root section (an <c>IRoleOptions</c> class): everything bound under its section name.</summary>
public sealed record RootSection(string Name, string Assembly, IReadOnlyList<OptionsSection> Sections);

/// <summary>
/// Reads every role's Options classes by reflection: each class implementing <c>IRoleOptions</c> is
/// a root section; its settable properties are keys, nested classes sections below it, lists take
/// <c>:N</c> and maps <c>:{name}</c>. Defaults come from a fresh instance, so they are the code's.
/// </summary>
public static class OptionsCatalog
{
    private const int MaxDepth = 8;

    /// <summary>The role assemblies in the order the document lists them.</summary>
    public static IReadOnlyList<Assembly> RoleAssemblies { get; } =
    [
        typeof(Appliance.ApplianceOptions).Assembly,
        typeof(Origin.OriginOptions).Assembly,
        typeof(Steering.SteeringOptions).Assembly,
        typeof(FillController.FillControllerOptions).Assembly,
        typeof(ManagementOptions).Assembly,
    ];

    public static IReadOnlyList<RootSection> Read(XmlDocumentation docs)
    {
        var roots = new List<RootSection>();
        foreach (var assembly in RoleAssemblies)
        {
            var types = assembly.GetTypes()
                .Where(t => t is { IsClass: true, IsAbstract: false } && ImplementsRoleOptions(t))
                .OrderBy(t => t.FullName, StringComparer.Ordinal);
            foreach (var type in types)
            {
                var name = (string)type.GetProperty("SectionName", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
                var sections = new List<OptionsSection>();
                Walk(docs, name, type, Activator.CreateInstance(type), docs.Summary(type), sections, 0);
                roots.Add(new RootSection(name, assembly.GetName().Name!, sections));
            }
        }

        return roots;
    }

    /// <summary>Keys without a description: every option must say what it does.</summary>
    public static IEnumerable<string> Undocumented(IEnumerable<RootSection> roots) =>
        roots.SelectMany(r => r.Sections).SelectMany(s => s.Rows).Where(r => r.Description.Length == 0).Select(r => r.Key);

    private static bool ImplementsRoleOptions(Type type) =>
        type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRoleOptions<>));

    private static void Walk(XmlDocumentation docs, string prefix, Type type, object? instance, string summary, List<OptionsSection> sections, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException($"options nest deeper than {MaxDepth} levels at {prefix}");
        }

        var rows = new List<OptionRow>();
        var nested = new List<(string Key, Type Type, object? Instance, string Summary)>();
        var section = new OptionsSection(prefix, summary, rows);
        sections.Add(section);
        foreach (var property in BoundProperties(type))
        {
            var key = prefix + ":" + property.Name;
            var value = instance is null ? null : property.GetValue(instance);
            var description = docs.Summary(property);
            var stated = docs.Value(property);
            var propertyType = property.PropertyType;
            if (IsLeaf(propertyType))
            {
                rows.Add(new OptionRow(key, TypeName(propertyType), stated.Length > 0 ? stated : FormatValue(value), description));
            }
            else if (DictionaryValueType(propertyType) is { } mapValue)
            {
                if (IsLeaf(mapValue))
                {
                    rows.Add(new OptionRow(key + ":{name}", TypeName(mapValue) + " per name", stated.Length > 0 ? stated : FormatMap(value), description));
                }
                else
                {
                    nested.Add((key + ":{name}", mapValue, Activator.CreateInstance(mapValue), Either(description, docs.Summary(mapValue))));
                }
            }
            else if (ElementType(propertyType) is { } element)
            {
                if (IsLeaf(element))
                {
                    rows.Add(new OptionRow(key + ":N", "list of " + TypeName(element), stated.Length > 0 ? stated : FormatList(value), description));
                }
                else
                {
                    nested.Add((key + ":N", element, Activator.CreateInstance(element), Either(description, docs.Summary(element))));
                }
            }
            else
            {
                nested.Add((key, propertyType, value, Either(description, docs.Summary(propertyType))));
            }
        }

        foreach (var (key, nestedType, nestedInstance, nestedSummary) in nested)
        {
            Walk(docs, key, nestedType, nestedInstance, nestedSummary, sections, depth + 1);
        }

        if (rows.Count == 0 && section.Summary.Length == 0)
        {
            sections.Remove(section);
        }
    }

    private static string Either(string first, string second) => first.Length > 0 ? first : second;

    /// <summary>What the configuration binder writes: public settable properties, and get-only nested classes it fills in place.</summary>
    private static IEnumerable<PropertyInfo> BoundProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is { IsPublic: true })
            .Where(p => p.SetMethod is { IsPublic: true } || (!IsLeaf(p.PropertyType) && HasBackingField(p)))
            .OrderBy(p => p.MetadataToken);

    /// <summary>A get-only auto-property (the binder fills its object in place), not a computed one.</summary>
    private static bool HasBackingField(PropertyInfo property) =>
        property.DeclaringType!.GetField($"<{property.Name}>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic) is not null;

    private static bool IsLeaf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri)
            || type == typeof(TimeOnly) || type == typeof(DateOnly);
    }

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var enumerable = type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    private static Type? DictionaryValueType(Type type)
    {
        var dictionary = type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)));
        return dictionary?.GetGenericArguments()[1];
    }

    private static string TypeName(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            return TypeName(underlying) + " or empty";
        }

        if (type.IsEnum)
        {
            return string.Join(" \\| ", Enum.GetNames(type).Select(n => $"`{n}`"));
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => "boolean",
            TypeCode.String => "string",
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64 => "integer",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "number",
            _ when type == typeof(TimeSpan) => "duration",
            _ when type == typeof(TimeOnly) => "time of day",
            _ when type == typeof(Uri) => "URL",
            _ => type.Name,
        };
    }

    private static string FormatValue(object? value) => value switch
    {
        null => "none",
        string { Length: 0 } => "empty",
        string s => Code(s),
        bool b => Code(b ? "true" : "false"),
        TimeSpan t => Code(t.ToString("c", CultureInfo.InvariantCulture)),
        TimeOnly t => Code(t.ToString("HH:mm", CultureInfo.InvariantCulture)),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        Enum e => Code(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Code(value.ToString() ?? ""),
    };

    private static string FormatList(object? value)
    {
        var items = value is IEnumerable e ? e.Cast<object?>().Select(FormatValue).ToList() : [];
        return items.Count == 0 ? "none" : string.Join(", ", items);
    }

    private static string FormatMap(object? value)
    {
        if (value is not IEnumerable entries)
        {
            return "none";
        }

        var items = new List<string>();
        foreach (var entry in entries)
        {
            var entryType = entry!.GetType();
            var key = entryType.GetProperty("Key")!.GetValue(entry);
            var item = entryType.GetProperty("Value")!.GetValue(entry);
            items.Add($"{Code(Convert.ToString(key, CultureInfo.InvariantCulture) ?? "")}: {FormatValue(item)}");
        }

        return items.Count == 0 ? "none" : string.Join(", ", items);
    }

    private static string Code(string text) => "`" + text.Replace("|", "\\|", StringComparison.Ordinal) + "`";
}
