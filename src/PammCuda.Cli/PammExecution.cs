namespace PammCuda.Cli;

/// <summary>What both commands do once X and G are in memory: run the chosen backend and report.</summary>
internal static class PammExecution
{
    public static void MeasureAndReport(TextWriter output, string title, HostMatrix x, HostMatrix g, PammSettings settings, PammOptions options)
    {
        if (ProductTooLarge(x.Columns, g.Columns) is { } tooLarge) throw new CommandFailedException(tooLarge);
        IPammRunner runner = RunnerSelection.For(settings.Device);
        // A device runner owns its device; the CPU runner holds nothing to free.
        using var ownedDevice = runner as IDisposable;
        PammMeasurement measurement = x switch
        {
            HostMatrix<float> xf => Measure(runner, xf, g, options, settings),
            HostMatrix<Half> xh => Measure(runner, xh, g, options, settings),
            HostMatrix<BFloat16> xb => Measure(runner, xb, g, options, settings),
            _ => throw new ArgumentException($"Unsupported element type {x.DType}.", nameof(x)),
        };
        Report.Write(output, title, runner, x, g, settings, measurement);
    }

    // X's element type is known here; G's is the second of the two the runner's generic Measure takes.
    private static PammMeasurement Measure<T>(IPammRunner runner, HostMatrix<T> x, HostMatrix g, PammOptions options, PammSettings settings)
        where T : unmanaged => g switch
        {
            HostMatrix<float> gf => runner.Measure(x, gf, options, settings.Layout, settings.Repeat),
            HostMatrix<Half> gh => runner.Measure(x, gh, options, settings.Layout, settings.Repeat),
            HostMatrix<BFloat16> gb => runner.Measure(x, gb, options, settings.Layout, settings.Repeat),
            _ => throw new ArgumentException($"Unsupported element type {g.DType}.", nameof(g)),
        };

    /// <summary>Why an n × m product (X's columns by G's) cannot be held in one array, or null when it can.</summary>
    public static string? ProductTooLarge(int columns, int gradientColumns) =>
        (long)columns * gradientColumns > Array.MaxLength
            ? $"the product would be {columns} x {gradientColumns} = {(long)columns * gradientColumns} elements, more than one array holds ({Array.MaxLength}); use fewer columns in X or G"
            : null;
}
