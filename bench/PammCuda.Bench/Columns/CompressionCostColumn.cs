using System.Globalization;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>
/// The cost of PAMM's compression in the forward pass: the extra time of
/// <see cref="Operation.QkvGemmWithCompression"/> (compression from the Q/K/V GEMM) or
/// <see cref="Operation.QkvGemmThenCompress"/> (the GEMM, then a compression of its own) or
/// <see cref="Operation.QkvGemmBesideCompress"/> and <see cref="Operation.QkvGemmBesideCompressHighPriority"/> (the two
/// on two streams, side by side), or of the bare GEMM with the
/// similarity columns (<see cref="Operation.QkvAndSimilarityGemm"/>, a fused design's floor) over the plain
/// <see cref="Operation.QkvGemm"/> of the same shape and dtype, as a share of the plain GEMM (issue 14's goal: at most
/// +5 % at n ≥ 768).
/// </summary>
public sealed class CompressionCostColumn(TimeBasis basis) : CaseColumn(
    "compression cost",
    "Extra time of the Q/K/V GEMM with compression (fused, followed by Compress, or beside it on a second stream) over the plain Q/K/V GEMM of the same shape and dtype, in % of the plain GEMM",
    5)
{
    /// <inheritdoc/>
    protected override string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured)
    {
        if (measured.Operation is not (Operation.QkvGemmWithCompression or Operation.QkvGemmThenCompress or Operation.QkvGemmBesideCompress
            or Operation.QkvGemmBesideCompressHighPriority or Operation.QkvAndSimilarityGemm))
            return null;
        double? withCompression = CaseTiming.MeanNanoseconds(summary, benchmarkCase, measured, basis);
        double? plain = ReferenceLookup.ReferenceMeanNanoseconds(summary, measured, Operation.QkvGemm, basis);
        if (withCompression is null || plain is not > 0)
            return null;
        return (100 * (withCompression.Value - plain.Value) / plain.Value).ToString("+0.0;-0.0", CultureInfo.InvariantCulture) + " %";
    }
}
