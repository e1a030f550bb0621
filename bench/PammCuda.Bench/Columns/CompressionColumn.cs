using System.Globalization;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>What the compressed form of the case's X keeps, as the backend reports it: stored bytes, or dense / stored.</summary>
public sealed class CompressionColumn : CaseColumn
{
    private readonly bool _ratio;

    private CompressionColumn(bool ratio)
        : base(
            ratio ? "Dense/stored" : "Stored",
            ratio
                ? "True compression ratio: ICompressedActivation.CompressionRatio (dense bytes of X / everything stored)"
                : "ICompressedActivation.StoredBytes: generators, assignment f, α and η",
            ratio ? 6 : 5)
        => _ratio = ratio;

    /// <summary>The stored-bytes column.</summary>
    public static CompressionColumn StoredBytes { get; } = new(ratio: false);

    /// <summary>The compression-ratio column.</summary>
    public static CompressionColumn Ratio { get; } = new(ratio: true);

    /// <inheritdoc/>
    protected override string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured)
    {
        if (measured.Shape.RatioDenominator == 0 || CaseRecords.Compression(measured.Shape) is not { } compression)
            return null;
        return _ratio
            ? compression.CompressionRatio.ToString("F1", CultureInfo.InvariantCulture) + "×"
            : ByteSize.Format(compression.StoredBytes);
    }
}
