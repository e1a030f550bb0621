namespace PammCuda.Cli;

/// <summary><c>pamm run</c>: PAMM on the user's X (and G) from .npy files.</summary>
internal static class RunCommand
{
    public static void Execute(ParsedCommand command, TextWriter output)
    {
        PammSettings settings = PammSettings.From(command);
        string xPath = command.Text("--x") ?? throw new UsageException("option --x is required (the .npy file of the activation X)");
        string? gPath = command.Text("--g");
        RequireFileName(xPath, "--x");
        if (gPath is not null) RequireFileName(gPath, "--g");
        if (gPath is not null && command.IsGiven("--grad-cols"))
            throw new UsageException("--grad-cols sets the columns of a generated G; it cannot be used with --g");
        int gradientColumns = command.Integer("--grad-cols", minimum: 1);

        PammOptions? options = null;
        HostMatrix x = Load(xPath, "X", header => options = settings.OptionsFor(header.Rows));
        HostMatrix g = gPath is null
            ? SyntheticData.Gaussian(x.Rows, gradientColumns, new Random(DemoCommand.DataSeed(settings.Seed)))
            : Load(gPath, "G", header =>
            {
                if (header.Rows != x.Rows)
                    throw new CommandFailedException($"G ({gPath}) has {header.Rows} rows but X has {x.Rows}; both need one row per token");
            });
        string title = $"pamm run: X from {xPath}, G {(gPath is null ? "Gaussian" : "from " + gPath)}";
        PammExecution.MeasureAndReport(output, title, x, g, settings, options!);
    }

    private static void RequireFileName(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException($"option {option} needs a file name; it is empty");
    }

    /// <summary>Reads a .npy matrix; <paramref name="checkHeader"/> sees its header before the data is read, so bad options fail fast.</summary>
    private static HostMatrix Load(string path, string role, Action<NpyHeader> checkHeader)
    {
        if (Directory.Exists(path)) throw new CommandFailedException($"the {role} file {path} is a directory; give a .npy file");
        try
        {
            using FileStream stream = File.OpenRead(path);
            NpyHeader header = NpyReader.ReadHeader(stream);
            checkHeader(header);
            return NpyReader.ReadData(stream, header);
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
