using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>Finds, in a joined summary, the reference measurement of an operation for a case's shape and dtype.</summary>
public static class ReferenceLookup
{
    /// <summary>
    /// Mean nanoseconds of the case marked <see cref="MeasuresAttribute.IsReference"/> for <paramref name="operation"/>
    /// with the same width, rows and dtype as <paramref name="measured"/>; null when it did not run.
    /// </summary>
    public static double? ReferenceMeanNanoseconds(Summary summary, MeasuredCase measured, Operation operation, TimeBasis basis)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(measured);
        foreach (BenchmarkCase candidate in summary.BenchmarksCases)
        {
            if (MeasuredCase.From(candidate) is { IsReference: true } reference
                && reference.Operation == operation
                && reference.Shape.Width == measured.Shape.Width
                && reference.Shape.Rows == measured.Shape.Rows
                && reference.Shape.DType == measured.Shape.DType)
                return CaseTiming.MeanNanoseconds(summary, candidate, reference, basis);
        }
        return null;
    }
}
