using System.Globalization;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>Effective bandwidth: the bytes the operation must read and write at least, over its time.</summary>
public sealed class EffectiveBandwidthColumn(TimeBasis basis) : CaseColumn(
    "GB/s",
    "Effective bandwidth: minimum bytes read + written (X, G, output, compressed form as stored) / time, 10⁹ bytes per second",
    2)
{
    /// <summary>Bytes per nanosecond, which is GB/s, or null when the case has no time or byte count.</summary>
    public static double? GigabytesPerSecond(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured, TimeBasis basis)
    {
        ArgumentNullException.ThrowIfNull(measured);
        long? bytes = measured.MinimumBytes(CaseRecords.Compression(measured.Shape));
        double? nanoseconds = CaseTiming.MeanNanoseconds(summary, benchmarkCase, measured, basis);
        return bytes is null || nanoseconds is not > 0 ? null : bytes / nanoseconds;
    }

    /// <inheritdoc/>
    protected override string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured) =>
        GigabytesPerSecond(summary, benchmarkCase, measured, basis)?.ToString("F1", CultureInfo.InvariantCulture);
}
