using System.Globalization;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>Effective bandwidth as a share of the bandwidth the copy of X and G of the same shape and dtype reached in this run.</summary>
public sealed class CopyShareColumn(TimeBasis basis) : CaseColumn(
    "% of copy",
    "GB/s as a percentage of the measured copy bandwidth (copy of X and G, same shape and dtype, same run)",
    3)
{
    /// <inheritdoc/>
    protected override string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured)
    {
        double? own = EffectiveBandwidthColumn.GigabytesPerSecond(summary, benchmarkCase, measured, basis);
        double? copyNanoseconds = ReferenceLookup.ReferenceMeanNanoseconds(summary, measured, Operation.Copy, basis);
        if (own is null || copyNanoseconds is not > 0)
            return null;
        // The copy's own byte count, at this case's shape: the rule lives in MeasuredCase.MinimumBytes.
        long copyBytes = (measured with { Operation = Operation.Copy }).MinimumBytes(compression: null)!.Value;
        double copy = copyBytes / copyNanoseconds.Value;
        return (100 * own.Value / copy).ToString("F0", CultureInfo.InvariantCulture) + " %";
    }
}
