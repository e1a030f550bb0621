using System.Globalization;
using System.Text.RegularExpressions;

namespace PammCuda.Devices;

/// <summary>
/// The CUDA C++ sources of <c>kernels/</c>, embedded in the assembly: translation units (<c>*.cu</c>)
/// and the shared device headers (<c>*.cuh</c>) they include by bare file name.
/// </summary>
/// <remarks>
/// Besides the text, the library reads three things from these sources so that C# never restates them: the kernels a
/// unit exports (<c>PAMM_EXPORT_KERNEL</c> lines), each kernel's declaration (launch bounds and parameter kinds, which
/// every launch is checked against) and the integer <c>#define</c>s that launch geometry is derived from.
/// </remarks>
internal static partial class KernelSources
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> All = new(Load);
    private static readonly Lazy<IReadOnlyDictionary<string, int>> AllConstants = new(LoadConstants);
    private static readonly Lazy<IReadOnlyDictionary<string, KernelDeclaration>> AllDeclarations = new(LoadDeclarations);

    /// <summary>File name → text of every <c>*.cu</c>, in ordinal name order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> TranslationUnits =>
        [.. All.Value.Where(e => e.Key.EndsWith(".cu", StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal)];

    /// <summary>File name → text of every <c>*.cuh</c>, in ordinal name order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Headers =>
        [.. All.Value.Where(e => e.Key.EndsWith(".cuh", StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal)];

    /// <summary>The kernels a translation unit exports: the names of its <c>PAMM_EXPORT_KERNEL(name)</c> lines, in order.</summary>
    public static IEnumerable<string> ExportedKernels(string unitText) =>
        ExportPattern().Matches(unitText).Select(match => match.Groups["name"].Value);

    /// <summary>Every exported kernel's declaration, by name.</summary>
    internal static IReadOnlyDictionary<string, KernelDeclaration> Declarations => AllDeclarations.Value;

    /// <summary>The value of <c>#define <paramref name="name"/> &lt;integer&gt;</c> in <c>kernels/</c>.</summary>
    /// <exception cref="KeyNotFoundException">No such integer define (a C# launcher asks for a number the kernels no longer have).</exception>
    internal static int Constant(string name) =>
        AllConstants.Value.TryGetValue(name, out int value)
            ? value
            : throw new KeyNotFoundException($"kernels/ has no '#define {name} <integer>'.");

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

    private static Dictionary<string, int> LoadConstants()
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (file, text) in All.Value)
            foreach (Match match in ConstantPattern().Matches(text))
            {
                string name = match.Groups["name"].Value;
                int value = int.Parse(match.Groups["value"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                // One number, one place: a second define of the same name would let C# and one kernel disagree.
                if (!result.TryAdd(name, value))
                    throw new InvalidOperationException($"kernels/{file} defines {name} again.");
            }
        return result;
    }

    private static Dictionary<string, KernelDeclaration> LoadDeclarations()
    {
        var result = new Dictionary<string, KernelDeclaration>(StringComparer.Ordinal);
        foreach (var (file, text) in TranslationUnits)
            foreach (var declaration in ParseDeclarations(file, text))
                if (!result.TryAdd(declaration.Name, declaration))
                    throw new InvalidOperationException($"kernels/{file} declares {declaration.Name} again.");
        return result;
    }

    /// <summary>
    /// The declarations of the kernels one unit exports, <c>extern "C" __global__ void __launch_bounds__(N) name(params)</c>,
    /// where params may be one call of a function-like macro of the unit (the instances of one kernel share it).
    /// </summary>
    /// <exception cref="InvalidOperationException">An exported kernel without such a declaration, or one declared twice, or a parameter macro the unit does not define or calls with the wrong number of arguments.</exception>
    internal static IReadOnlyList<KernelDeclaration> ParseDeclarations(string file, string text)
    {
        var exported = ExportedKernels(text).ToHashSet(StringComparer.Ordinal);
        var parameterMacros = FunctionMacros(text);
        var declarations = new Dictionary<string, KernelDeclaration>(StringComparer.Ordinal);
        foreach (Match match in KernelPattern().Matches(text))
        {
            string name = match.Groups["name"].Value;
            if (!exported.Contains(name)) continue;
            string parameters = ExpandParameterMacro(match.Groups["parameters"].Value, parameterMacros, file, name);
            var declaration = new KernelDeclaration(name, LaunchBounds(match.Groups["bounds"].Value.Trim(), file, name),
                [.. ParameterList(parameters, file, name)]);
            if (!declarations.TryAdd(name, declaration))
                throw new InvalidOperationException($"kernels/{file} declares {name} again.");
        }
        foreach (string name in exported)
            if (!declarations.ContainsKey(name))
                throw new InvalidOperationException(
                    $"kernels/{file} exports {name} but declares it in no form the library reads: extern \"C\" __global__ void __launch_bounds__(N) {name}(…).");
        return [.. declarations.Values];
    }

    /// <summary>The function-like macros <c>#define NAME(a, b) body</c> of a unit (continuation lines joined): how the instances of one kernel share their parameter list.</summary>
    private static Dictionary<string, (string[] Arguments, string Body)> FunctionMacros(string text)
    {
        var macros = new Dictionary<string, (string[] Arguments, string Body)>(StringComparer.Ordinal);
        foreach (Match match in FunctionMacroPattern().Matches(text))
        {
            string[] arguments = match.Groups["arguments"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            string body = ContinuationPattern().Replace(match.Groups["body"].Value, " ");
            macros[match.Groups["name"].Value] = (arguments, body);
        }
        return macros;
    }

    /// <summary>
    /// A parameter list written as one macro call, <c>NAME(types…)</c>, expanded as the preprocessor would (whole-word
    /// substitution of the macro's arguments); any other list as it is.
    /// </summary>
    private static string ExpandParameterMacro(string parameters, Dictionary<string, (string[] Arguments, string Body)> macros, string file,
        string kernel)
    {
        Match call = MacroCallPattern().Match(parameters);
        if (!call.Success) return parameters;
        string name = call.Groups["name"].Value;
        if (!macros.TryGetValue(name, out var macro))
            throw new InvalidOperationException($"kernels/{file}: {kernel}'s parameters are {name}(…), which the file does not #define.");
        string[] values = call.Groups["values"].Value.Split(',', StringSplitOptions.TrimEntries);
        if (values.Length != macro.Arguments.Length)
            throw new InvalidOperationException($"kernels/{file}: {kernel} passes {values.Length} arguments to {name}, which takes {macro.Arguments.Length}.");
        string expanded = macro.Body;
        for (int i = 0; i < values.Length; i++)
            expanded = Regex.Replace(expanded, $@"\b{Regex.Escape(macro.Arguments[i])}\b", values[i].Replace("$", "$$", StringComparison.Ordinal));
        return expanded;
    }

    private static int LaunchBounds(string bounds, string file, string kernel)
    {
        if (int.TryParse(bounds, NumberStyles.None, CultureInfo.InvariantCulture, out int threads)) return threads;
        return AllConstants.Value.TryGetValue(bounds, out threads)
            ? threads
            : throw new InvalidOperationException($"kernels/{file}: {kernel}'s __launch_bounds__({bounds}) is neither a number nor an integer define.");
    }

    private static IEnumerable<(string Name, KernelParameterKind Kind)> ParameterList(string parameters, string file, string kernel)
    {
        foreach (string parameter in parameters.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var tokens = parameter.Replace("*", " * ", StringComparison.Ordinal)
                .Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries)
                .Where(token => token is not ("const" or "__restrict__"))
                .ToList();
            string name = tokens[^1];
            var type = tokens[..^1];
            KernelParameterKind? kind = type.Contains("*") ? KernelParameterKind.Pointer : string.Join(' ', type) switch
            {
                "int" => KernelParameterKind.Int32,
                "unsigned int" => KernelParameterKind.UInt32,
                "long long" => KernelParameterKind.Int64,
                "unsigned long long" => KernelParameterKind.UInt64,
                "float" => KernelParameterKind.Float32,
                _ => null,
            };
            yield return (name, kind ?? throw new InvalidOperationException(
                $"kernels/{file}: {kernel}'s parameter '{parameter}' has a type the launcher cannot pack; use a pointer, int, unsigned int, long long, unsigned long long or float."));
        }
    }

    [GeneratedRegex(@"^[ \t]*PAMM_EXPORT_KERNEL\s*\(\s*(?<name>\w+)\s*\)", RegexOptions.Multiline)]
    private static partial Regex ExportPattern();

    [GeneratedRegex(@"^[ \t]*#define[ \t]+(?<name>[A-Z_][A-Z0-9_]*)[ \t]+(?<value>-?[0-9]+)[ \t]*(//.*)?$", RegexOptions.Multiline)]
    private static partial Regex ConstantPattern();

    // The parameter list may be one macro call, so one level of nested parentheses is allowed.
    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+void\s+__launch_bounds__\s*\((?<bounds>[^)]*)\)\s*(?<name>\w+)\s*\((?<parameters>(?:[^()]|\([^()]*\))*)\)")]
    private static partial Regex KernelPattern();

    [GeneratedRegex(@"^[ \t]*#define[ \t]+(?<name>[A-Za-z_]\w*)\((?<arguments>[^)]*)\)(?<body>(?:[^\n]*\\\r?\n)*[^\n]*)", RegexOptions.Multiline)]
    private static partial Regex FunctionMacroPattern();

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex ContinuationPattern();

    [GeneratedRegex(@"^\s*(?<name>[A-Za-z_]\w*)\s*\((?<values>[^()]*)\)\s*$")]
    private static partial Regex MacroCallPattern();
}
