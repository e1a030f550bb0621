using PammCuda.Engine;

namespace PammCuda.Bench.Harness;

/// <summary>
/// Bytes each pipeline stage must read and write at least, for the GB/s column: its inputs and outputs once each,
/// at the sizes the engine stores them (b = rows, n = m = width, k from the ratio, e = the dtype's size).
/// </summary>
public static class StageTraffic
{
    /// <summary>True for the stages this class counts bytes of.</summary>
    public static bool Covers(Operation operation) => operation is >= Operation.Gather and <= Operation.ReduceByGemm;

    /// <summary>The minimum bytes of <paramref name="operation"/> on <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="operation"/> is not a stage, or the shape has no ratio.</exception>
    public static long MinimumBytes(Operation operation, ShapeKey shape)
    {
        if (!Covers(operation)) throw new ArgumentOutOfRangeException(nameof(operation), operation, "Not a pipeline stage.");
        ArgumentOutOfRangeException.ThrowIfLessThan(shape.RatioDenominator, 1, nameof(shape));
        long b = shape.Rows, n = shape.Width, m = shape.Width, e = shape.DType.SizeOf();
        long k = new GeneratorRatio(shape.RatioDenominator).Options.ResolveK(shape.Rows);
        long f = CompressedSize.AssignmentBytesPerRow((int)k);
        const long word = sizeof(float);
        // Sorted keys and row numbers: the grouping's output and the first reduction pass's input.
        long sorted = 2 * word * b;
        long partials = word * PammKernels.ReducePieces(shape.Rows, (int)k) * m;
        return operation switch
        {
            // Read k rows of X; write C, ‖C_j‖², the generators' entries of the row map and η.
            Operation.Gather => 2 * k * n * e + word * k + word * k + word,
            Operation.RowSquaredNorms => b * n * e + word * b,
            // Read X and C; write S (b × k float32).
            Operation.Similarities => b * n * e + k * n * e + word * b * k,
            // Read S, ‖C_j‖² and the row map; write f and α.
            Operation.Assign => word * b * k + word * k + word * b + (f + word) * b,
            Operation.GroupRows => f * b + sorted,
            // Read G, α and the sorted keys and rows; write the partial sums and where each group starts.
            Operation.ReduceChunks => b * m * e + word * b + sorted + partials + word * (k + 1),
            // Read the group starts and the partial sums; write B̃.
            Operation.ReduceGroups => word * (k + 1) + partials + word * k * m,
            // Read C (X's dtype) and B̃; write the output in X's dtype (as the stage benchmark runs it).
            Operation.Expand => k * n * e + word * k * m + e * n * m,
            // Read C (float32) and B̃; write the float32 product; for 16-bit, read it back and write the output.
            Operation.ExpandByCublas => word * k * n + word * k * m + word * n * m + (e == word ? 0 : word * n * m + e * n * m),
            // Read f and α (float32); write Pᵀ, k × b in G's dtype.
            Operation.AssignmentMatrix => (f + word) * b + e * k * b,
            // Read G and Pᵀ; write B̃.
            Operation.ReduceByGemm => b * m * e + e * k * b + word * k * m,
            _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Not a pipeline stage."),
        };
    }
}
