using System.Globalization;

namespace PammCuda.Cli;

/// <summary><c>pamm demo</c>: PAMM on generated, hidden-state-like activations.</summary>
internal static class DemoCommand
{
    public static void Execute(ParsedCommand command, TextWriter output)
    {
        PammSettings settings = PammSettings.From(command);
        int rows = command.Integer("--rows", minimum: 1);
        int columns = command.Integer("--cols", minimum: 1);
        int gradientColumns = command.Integer("--grad-cols", minimum: 1);
        int directions = command.Integer("--directions", minimum: 1);
        double noise = command.Number("--noise", s => s >= 0 && double.IsFinite(s), "a finite number >= 0");
        CheckFitsOneArray(rows, columns, "--cols");
        CheckFitsOneArray(rows, gradientColumns, "--grad-cols");
        if (PammExecution.ProductTooLarge(columns, gradientColumns) is { } tooLarge) throw new UsageException($"--cols x --grad-cols: {tooLarge}");
        // Each token lies around one direction: more directions than tokens only allocates directions nobody uses.
        if (directions > rows) throw new UsageException($"--directions {directions} is more than --rows {rows}; each token lies around one direction");
        PammOptions options = settings.OptionsFor(rows);

        var random = new Random(DataSeed(settings.Seed));
        HostMatrix<float> x = SyntheticData.StructuredActivations(rows, columns, directions, noise, random);
        HostMatrix<float> g = SyntheticData.Gaussian(rows, gradientColumns, random);
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
