using System.Text.RegularExpressions;

namespace PammCuda.Devices;

/// <summary>
/// Expands the kernel instance macros of a translation unit as the C preprocessor would, for reading only: a unit writes
/// each kernel's <c>extern "C"</c> wrapper once as <c>#define PAMM_…_KERNEL(params) …</c> and instantiates it per dtype
/// with one line each (<c>PAMM_GATHER_KERNEL(f32, pamm_f32)</c>). NVRTC and g++ do the real expansion; this lets
/// <see cref="KernelSources"/> see the exported names and signatures the compilers see. Handles exactly what those macros
/// use: parameters substituted as whole tokens, with <c>##</c> pasting.
/// </summary>
internal static partial class KernelInstanceMacros
{
    /// <summary><paramref name="unitText"/> with every instance line replaced by its macro's body.</summary>
    public static string Expand(string unitText)
    {
        var macros = DefinitionPattern().Matches(unitText)
            .ToDictionary(match => match.Groups["name"].Value, match => (
                Parameters: match.Groups["parameters"].Value.Split(',', StringSplitOptions.TrimEntries),
                Body: match.Groups["body"].Value.Replace("\\\n", "\n", StringComparison.Ordinal)));
        if (macros.Count == 0) return unitText;
        return InstancePattern().Replace(unitText, match =>
        {
            if (!macros.TryGetValue(match.Groups["name"].Value, out var macro)) return match.Value;
            var arguments = match.Groups["arguments"].Value.Split(',', StringSplitOptions.TrimEntries);
            if (arguments.Length != macro.Parameters.Length)
                throw new InvalidOperationException(
                    $"{match.Groups["name"].Value} takes {macro.Parameters.Length} arguments; '{match.Value.Trim()}' gives {arguments.Length}.");
            string body = macro.Body;
            for (int i = 0; i < arguments.Length; i++)
            {
                string parameter = Regex.Escape(macro.Parameters[i]);
                body = Regex.Replace(body, $@"\s*##\s*\b{parameter}\b|\b{parameter}\b\s*##\s*|\b{parameter}\b", arguments[i]);
            }
            return body;
        });
    }

    // "#define PAMM_X_KERNEL(a, b) first line \" continued lines ending in backslashes, up to the first line without one.
    [GeneratedRegex(@"^[ \t]*#define[ \t]+(?<name>PAMM_\w+_KERNEL)\((?<parameters>[^)]*)\)(?<body>(?:[^\n]*\\\n)*[^\n]*)", RegexOptions.Multiline)]
    private static partial Regex DefinitionPattern();

    [GeneratedRegex(@"^[ \t]*(?<name>PAMM_\w+_KERNEL)\((?<arguments>[^)\n]*)\)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex InstancePattern();
}
