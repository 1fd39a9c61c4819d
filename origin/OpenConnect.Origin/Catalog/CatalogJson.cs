using System.Text.Json;
using System.Text.Json.Serialization;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog;

/// <summary>
/// Source-generated JSON metadata for the catalog's hot paths: the search response (first in the
/// HTTP resolver chain) and the JSON columns parsed for every result row. Web defaults, as the
/// reflection-based serializer the other endpoints use.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SearchResult))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(RenditionInfo[]))]
internal sealed partial class CatalogJson : JsonSerializerContext;
