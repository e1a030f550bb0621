using System.CommandLine;
using System.Globalization;

namespace PammCuda.Cli;

/// <summary><c>pamm demo</c>: PAMM on generated, hidden-state-like activations.</summary>
internal static class DemoCommand
{
    private static readonly Option<int> Rows = ValueOptions.Integer("--rows", "B", "tokens: rows of X and of G", 16384, minimum: 1);
    private static readonly Option<int> Columns = ValueOptions.Integer("--cols", "N", "features: columns of X", 768, minimum: 1);
    private static readonly Option<int> GradientColumns = ValueOptions.Integer("--grad-cols", "M", "columns of G (outputs of the projection)", 768, minimum: 1);
    private static readonly Option<int> Directions = ValueOptions.Integer("--directions", "D", "number of directions the tokens gather around", 8, minimum: 1);

    private static readonly Option<Written<DType>> ElementType = ValueOptions.Choice(
        "--dtype", "T",
        "element type of X and G: f32, f16 or bf16 (generated in float32, then rounded to nearest-even; bf16 is what a Q/K/V projection sees under autocast); the products are float32",
        CommonOptions.ByShortName(DType.Float32, DType.Float16, DType.BFloat16), "f32");

    private static readonly Option<Written<double>> Noise = ValueOptions.Number(
        "--noise", "S", "relative size of each token's noise, >= 0 (0 puts every token exactly on a direction)",
        "0.1", s => s >= 0 && double.IsFinite(s), "a finite number >= 0");

    /// <summary>What the generated data is, written after the options in <c>pamm demo --help</c>.</summary>
    public const string Details = """
        The generated X imitates the hidden states that feed Q/K/V projections: every token (row) lies
        near one of a few random unit directions, chosen uniformly, times a per-token scale
        exp(0.5 z) with a random sign (z standard normal), plus isotropic Gaussian noise whose norm is
        about --noise times the direction's. G, the output gradient, is standard Gaussian with
        --grad-cols columns. Both come from --seed, so a run is reproducible.

        """;

    /// <summary>The <c>demo</c> command; the <see cref="CommonOptions"/> come from the root command.</summary>
    public static Command Create()
    {
        var command = new Command("demo", "Runs PAMM end to end on generated activations and compares it with the exact product.")
        {
            Rows, Columns, GradientColumns, Directions, Noise, ElementType,
        };
        command.SetAction(result => Execute(result, result.InvocationConfiguration.Output));
        return command;
    }

    private static void Execute(ParseResult result, TextWriter output)
    {
        PammSettings settings = PammSettings.From(result);
        int rows = result.GetValue(Rows);
        int columns = result.GetValue(Columns);
        int gradientColumns = result.GetValue(GradientColumns);
        int directions = result.GetValue(Directions);
        double noise = result.GetValue(Noise).Value;
        DType dtype = result.GetValue(ElementType).Value;
        CheckFitsOneArray(rows, columns, "--cols");
        CheckFitsOneArray(rows, gradientColumns, "--grad-cols");
        if (PammExecution.ProductTooLarge(columns, gradientColumns) is { } tooLarge) throw new UsageException($"--cols x --grad-cols: {tooLarge}");
        // Each token lies around one direction: more directions than tokens only allocates directions nobody uses.
        if (directions > rows) throw new UsageException($"--directions {directions} is more than --rows {rows}; each token lies around one direction");
        PammOptions options = settings.OptionsFor(rows);

        var random = new Random(DataSeed(settings.Seed));
        HostMatrix x = SyntheticData.StructuredActivations(rows, columns, directions, noise, random).RoundedTo(dtype);
        HostMatrix g = SyntheticData.Gaussian(rows, gradientColumns, random).RoundedTo(dtype);
        string title = string.Create(CultureInfo.InvariantCulture, $"pamm demo: {rows} tokens around {directions} directions, noise {noise:G6}, Gaussian G, seed {settings.Seed}");
        PammExecution.MeasureAndReport(output, title, x, g, settings, options);
    }

    /// <summary>The seed of generated data: all 64 bits of --seed folded into System.Random's 32.</summary>
    public static int DataSeed(ulong seed) => unchecked((int)(seed ^ (seed >> 32)));

    private static void CheckFitsOneArray(int rows, int columns, string option)
    {
        if ((long)rows * columns > Array.MaxLength)
            throw new UsageException($"--rows x {option} = {(long)rows * columns} elements do not fit in one array (at most {Array.MaxLength})");
    }
}
