using System.Text.RegularExpressions;

namespace PammCuda.Devices;

/// <summary>
/// The CUDA C++ sources of <c>kernels/</c>, embedded in the assembly: translation units (<c>*.cu</c>)
/// and the shared device headers (<c>*.cuh</c>) they include by bare file name.
/// </summary>
public static partial class KernelSources
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> All = new(Load);

    /// <summary>File name → text of every <c>*.cu</c>, in ordinal name order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> TranslationUnits =>
        [.. All.Value.Where(e => e.Key.EndsWith(".cu", StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal)];

    /// <summary>File name → text of every <c>*.cuh</c>, in ordinal name order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Headers =>
        [.. All.Value.Where(e => e.Key.EndsWith(".cuh", StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal)];

    /// <summary>The kernels a translation unit exports: the names of its <c>PAMM_EXPORT_KERNEL(name)</c> lines, in order.</summary>
    public static IEnumerable<string> ExportedKernels(string unitText) =>
        ExportPattern().Matches(unitText).Select(match => match.Groups["name"].Value);

    private static Dictionary<string, string> Load()
    {
        var assembly = typeof(KernelSources).Assembly;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith("kernels/", StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            result[resource["kernels/".Length..]] = reader.ReadToEnd();
        }
        return result;
    }

    [GeneratedRegex(@"^[ \t]*PAMM_EXPORT_KERNEL\s*\(\s*(?<name>\w+)\s*\)", RegexOptions.Multiline)]
    private static partial Regex ExportPattern();
}
