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
        PammMeasurement measurement = (x, g) switch
        {
            (HostMatrix<float> xf, HostMatrix<float> gf) => runner.Measure(xf, gf, options, settings.Layout, settings.Repeat),
            (HostMatrix<float> xf, HostMatrix<Half> gh) => runner.Measure(xf, gh, options, settings.Layout, settings.Repeat),
            (HostMatrix<Half> xh, HostMatrix<float> gf) => runner.Measure(xh, gf, options, settings.Layout, settings.Repeat),
            (HostMatrix<Half> xh, HostMatrix<Half> gh) => runner.Measure(xh, gh, options, settings.Layout, settings.Repeat),
            _ => throw new ArgumentException($"Unsupported element types {x.DType} and {g.DType}.", nameof(x)),
        };
        Report.Write(output, title, runner, x, g, settings, measurement);
    }

    /// <summary>Why an n × m product (X's columns by G's) cannot be held in one array, or null when it can.</summary>
    public static string? ProductTooLarge(int columns, int gradientColumns) =>
        (long)columns * gradientColumns > Array.MaxLength
            ? $"the product would be {columns} x {gradientColumns} = {(long)columns * gradientColumns} elements, more than one array holds ({Array.MaxLength}); use fewer columns in X or G"
            : null;
}
