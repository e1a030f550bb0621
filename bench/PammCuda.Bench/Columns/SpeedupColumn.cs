using System.Globalization;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>
/// Speedup over the reference exact GEMM of the same shape and dtype: for one approximate product against one exact
/// product, for compress + Q/K/V against three exact products. Compression alone has no exact counterpart.
/// </summary>
public sealed class SpeedupColumn(TimeBasis basis) : CaseColumn(
    "vs exact",
    "Speedup over the reference exact GEMM of the same dtype (×1 for ApproxMatmul, ×3 for CompressAndQkv and CompressAndQkvBatched: three exact products)",
    4)
{
    /// <inheritdoc/>
    protected override string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured)
    {
        int exactProducts = measured.Operation switch
        {
            Operation.ApproxMatmul => 1,
            Operation.CompressAndQkv or Operation.CompressAndQkvBatched => 3,
            _ => 0,
        };
        if (exactProducts == 0)
            return null;
        double? own = CaseTiming.MeanNanoseconds(summary, benchmarkCase, measured, basis);
        double? exact = ReferenceLookup.ReferenceMeanNanoseconds(summary, measured, Operation.ExactGemm, basis);
        if (own is not > 0 || exact is null)
            return null;
        return (exactProducts * exact.Value / own.Value).ToString("F2", CultureInfo.InvariantCulture) + "×";
    }
}
