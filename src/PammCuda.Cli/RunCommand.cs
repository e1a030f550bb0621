using System.CommandLine;

namespace PammCuda.Cli;

/// <summary><c>pamm run</c>: PAMM on the user's X (and G) from .npy files.</summary>
internal static class RunCommand
{
    private static readonly Option<string> X = ValueOptions.File("--x", "FILE", "the activation X (b x n): a 2-D float32 or float16 .npy file", required: true);
    private static readonly Option<string> G = ValueOptions.File("--g", "FILE", "the output gradient G (b x m), same format; optional", required: false);
    private static readonly Option<int> GradientColumns = ValueOptions.Integer("--grad-cols", "M", "columns of the Gaussian G used when --g is not given", 768, minimum: 1);

    /// <summary>What the files hold, written after the options in <c>pamm run --help</c>.</summary>
    public const string Details = """
        X and G are .npy files (numpy.save) holding 2-D float32 or float16 matrices in C order, one row
        per token; G must have as many rows as X. Without --g, G is standard Gaussian with --grad-cols
        columns, drawn from --seed.

        """;

    /// <summary>The <c>run</c> command; the <see cref="CommonOptions"/> come from the root command.</summary>
    public static Command Create()
    {
        var command = new Command("run", "Runs PAMM on your activation matrix X and compares it with the exact product.")
        {
            X, G, GradientColumns,
        };
        command.SetAction(result => Execute(result, result.InvocationConfiguration.Output));
        return command;
    }

    private static void Execute(ParseResult result, TextWriter output)
    {
        PammSettings settings = PammSettings.From(result);
        string xPath = result.GetRequiredValue(X);
        string? gPath = result.GetValue(G);
        if (gPath is not null && result.IsGiven(GradientColumns))
            throw new UsageException("--grad-cols sets the columns of a generated G; it cannot be used with --g");
        int gradientColumns = result.GetValue(GradientColumns);

        PammOptions? options = null;
        HostMatrix x = Load(xPath, "X", header => options = settings.OptionsFor(header.Rows));
        // Every size is checked before G is generated or read: a G of --grad-cols from X's shape, or G's header.
        if (gPath is null) CheckGeneratedGradient(x, gradientColumns);
        HostMatrix g = gPath is null
            ? SyntheticData.Gaussian(x.Rows, gradientColumns, new Random(DemoCommand.DataSeed(settings.Seed)))
            : Load(gPath, "G", header =>
            {
                if (header.Rows != x.Rows)
                    throw new CommandFailedException($"G ({gPath}) has {header.Rows} rows but X has {x.Rows}; both need one row per token");
                if (PammExecution.ProductTooLarge(x.Columns, header.Columns) is { } tooLarge)
                    throw new CommandFailedException($"X ({xPath}) and G ({gPath}): {tooLarge}");
            });
        string title = $"pamm run: X from {xPath}, G {(gPath is null ? "Gaussian" : "from " + gPath)}";
        PammExecution.MeasureAndReport(output, title, x, g, settings, options!);
    }

    /// <summary>--grad-cols against X's shape: the generated G (b × m) and the product (n × m) must each fit in one array.</summary>
    private static void CheckGeneratedGradient(HostMatrix x, int gradientColumns)
    {
        if ((long)x.Rows * gradientColumns > Array.MaxLength)
            throw new UsageException($"--grad-cols {gradientColumns}: a G of X's {x.Rows} rows would be {(long)x.Rows * gradientColumns} elements, more than one array holds ({Array.MaxLength})");
        if (PammExecution.ProductTooLarge(x.Columns, gradientColumns) is { } tooLarge)
            throw new UsageException($"--grad-cols {gradientColumns}: {tooLarge}");
    }

    /// <summary>Reads a .npy matrix; <paramref name="checkHeader"/> sees its header before the data is read, so bad options fail fast.</summary>
    private static HostMatrix Load(string path, string role, Action<NpyHeader> checkHeader)
    {
        if (Directory.Exists(path)) throw new CommandFailedException($"the {role} file {path} is a directory; give a .npy file");
        try
        {
            return NpyReader.Read(path, checkHeader);
        }
        catch (NpyFormatException e)
        {
            throw new CommandFailedException($"{role} file {path}: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"cannot read the {role} file: {e.Message}", e);
        }
    }
}
