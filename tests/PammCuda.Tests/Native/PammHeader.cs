using System.Text.RegularExpressions;

namespace PammCuda.Tests.Native;

/// <summary>A C type as a declaration spells it: the base name without <c>const</c>, and how many <c>*</c> follow it.</summary>
internal sealed record CType(string Name, int Pointers)
{
    public override string ToString() => Name + new string('*', Pointers);
}

/// <summary>A parameter or a struct field: its type and name.</summary>
internal sealed record CDeclaration(CType Type, string Name);

/// <summary>A function prototype.</summary>
internal sealed record CFunction(string Name, CType Returns, IReadOnlyList<CDeclaration> Parameters);

/// <summary>
/// What native/include/pamm.h declares, read from its text as a C compiler would see it: the function prototypes, the
/// structs' fields in order, the enums' values and the #defines. The header keeps to plain C (no function pointers,
/// arrays or bit fields), so a few rules read all of it; <see cref="Parse"/> refuses what they do not cover rather than
/// skipping it, so a test held to this never passes by reading less.
/// </summary>
internal sealed partial class PammHeader
{
    private PammHeader(Dictionary<string, CFunction> functions, Dictionary<string, IReadOnlyList<CDeclaration>> structs,
        Dictionary<string, IReadOnlyDictionary<string, long>> enums, Dictionary<string, string> defines)
    {
        Functions = functions;
        Structs = structs;
        Enums = enums;
        Defines = defines;
    }

    public IReadOnlyDictionary<string, CFunction> Functions { get; }

    /// <summary>Each typedef'd struct's fields, in declaration order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<CDeclaration>> Structs { get; }

    /// <summary>Each typedef'd enum's enumerators and their values.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Enums { get; }

    public IReadOnlyDictionary<string, string> Defines { get; }

    /// <summary>The header the library is built against, copied beside the tests by the project file.</summary>
    public static PammHeader Load() => Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pamm.h")));

    public static PammHeader Parse(string text)
    {
        var defines = new Dictionary<string, string>();
        foreach (Match define in DefinePattern().Matches(text))
            defines[define.Groups["name"].Value] = define.Groups["value"].Value.Trim();

        string code = BlockComment().Replace(text, " ");
        code = string.Join('\n', code.Split('\n').Where(line => !line.TrimStart().StartsWith('#')));
        code = code.Replace("extern \"C\" {", " ", StringComparison.Ordinal);

        var structs = new Dictionary<string, IReadOnlyList<CDeclaration>>();
        var enums = new Dictionary<string, IReadOnlyDictionary<string, long>>();
        code = TypedefBlock().Replace(code, block =>
        {
            string name = block.Groups["name"].Value, body = block.Groups["body"].Value;
            if (block.Groups["kind"].Value == "struct")
                structs[name] = body.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Declaration).ToList();
            else
                enums[name] = body.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(Enumerator).ToDictionary(e => e.Name, e => e.Value);
            return ";";
        });

        var functions = new Dictionary<string, CFunction>();
        foreach (string statement in code.Split(';').Select(Collapse).Where(s => s.Length > 0 && s != "}"))
        {
            if (statement.StartsWith("typedef struct ", StringComparison.Ordinal) && !statement.Contains('('))
                continue;  // an opaque handle type: typedef struct pamm_engine_t *pamm_engine
            Match prototype = Prototype().Match(statement);
            if (!prototype.Success)
                throw new FormatException($"pamm.h: cannot read '{statement}' (not a prototype, struct, enum or handle typedef)");
            CDeclaration function = Declaration(prototype.Groups["declarator"].Value);
            string parameters = prototype.Groups["parameters"].Value.Trim();
            functions.Add(function.Name, new CFunction(function.Name, function.Type,
                parameters == "void" ? [] : parameters.Split(',').Select(Declaration).ToList()));
        }
        return new PammHeader(functions, structs, enums, defines);
    }

    /// <summary>"const void *const *projections" → (void**, projections).</summary>
    private static CDeclaration Declaration(string text)
    {
        var tokens = Token().Matches(text).Select(m => m.Value).Where(t => t != "const").ToList();
        int pointers = tokens.Count(t => t == "*");
        var words = tokens.Where(t => t != "*").ToList();
        if (words.Count < 2)
            throw new FormatException($"pamm.h: '{text}' is not a type and a name");
        return new CDeclaration(new CType(string.Join(' ', words[..^1]), pointers), words[^1]);
    }

    private static (string Name, long Value) Enumerator(string text)
    {
        string[] parts = text.Split('=', StringSplitOptions.TrimEntries);
        if (parts.Length != 2)
            throw new FormatException($"pamm.h: enumerator '{text}' has no explicit value (the ABI needs every value spelt out)");
        return (parts[0], long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string Collapse(string text) => Whitespace().Replace(text, " ").Trim();

    [GeneratedRegex(@"^\s*#define\s+(?<name>\w+)[ \t]+(?<value>[^\n]*)$", RegexOptions.Multiline)]
    private static partial Regex DefinePattern();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"typedef\s+(?<kind>struct|enum)\s+(?<name>\w+)\s*\{(?<body>[^}]*)\}\s*\w+\s*;")]
    private static partial Regex TypedefBlock();

    [GeneratedRegex(@"^(?<declarator>[\w\s\*]+)\((?<parameters>[^()]*)\)$")]
    private static partial Regex Prototype();

    [GeneratedRegex(@"\w+|\*")]
    private static partial Regex Token();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
