using System.Globalization;

namespace PammCuda.Cli;

/// <summary>Prints what a run did: backend, shapes, k, memory, error and times, one labelled line each.</summary>
internal static class Report
{
    public static void Write(TextWriter output, string title, IPammRunner runner, HostMatrix x, HostMatrix g, PammSettings settings, PammMeasurement measurement)
    {
        ICompressedActivation compressed = measurement.Compressed;
        (int productRows, int productColumns, string formula) = settings.Layout == ProductLayout.InputByGradient
            ? (x.Columns, g.Columns, "X^T G")
            : (g.Columns, x.Columns, "G^T X");
        double error = RelativeError.Frobenius(measurement.Approximate, measurement.Exact);

        output.WriteLine(title);
        Line(output, "backend", $"{runner.Backend} on {runner.Device}");
        Line(output, "X", $"{x.Describe()}");
        Line(output, "G", $"{g.Describe()}");
        Line(output, "product", $"{CommonOptions.LayoutName(settings.Layout)}: {formula}, {productRows} x {productColumns} f32");
        Line(output, "k", $"{compressed.K} generators ({(double)compressed.K / x.Rows:G4} of the rows), epsilon {Number(settings.Epsilon)}, seed {settings.Seed}, alpha {settings.AlphaType.ShortName()}{(settings.RefineGenerators ? ", refined generators" : "")}, dropped rows {compressed.ReadDroppedRows()}, beta {compressed.ReadBeta():G6}");
        Line(output, "memory", $"dense X {Bytes(compressed.DenseBytes)}; stored {Bytes(compressed.StoredBytes)} for C, f, alpha and eta: {compressed.CompressionRatio:F1}x less");
        Line(output, "error", $"||O~ - {formula}||_F / ||{formula}||_F = {error:E3}");
        // NaN or infinity in X or G reach both products, as in any GEMM, and leave nothing to compare: say so.
        if (!double.IsFinite(error))
            Line(output, "warning", $"X or G holds NaN or infinite values; they reach the product as in an exact GEMM, so the error is not a number");
        Line(output, "time", $"compress {Milliseconds(measurement.CompressTime)}, approximate product {Milliseconds(measurement.ApproximateTime)}, exact product {Milliseconds(measurement.ExactTime)}");
    }

    // Invariant culture: the report reads the same (decimal points, digit groups) on every machine.
    private static void Line(TextWriter output, string label, FormattableString text) =>
        output.WriteLine($"{label,-9}{text.ToString(CultureInfo.InvariantCulture)}");

    private static string Number(double value) => double.IsPositiveInfinity(value) ? "inf" : value.ToString("G6", CultureInfo.InvariantCulture);

    private static string Bytes(long bytes)
    {
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        double scaled = bytes;
        int unit = -1;
        while (scaled >= 1024 && unit < units.Length - 1)
        {
            scaled /= 1024;
            unit++;
        }
        return unit < 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} B ({scaled:F1} {units[unit]})");
    }

    private static string Milliseconds(TimeSpan time) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalMilliseconds:F1} ms");
}
