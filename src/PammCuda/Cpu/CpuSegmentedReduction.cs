using System.Numerics.Tensors;

namespace PammCuda.Cpu;

/// <summary>
/// Step 7 of PAMM on the CPU: <c>B̃_j = Σ_{i : f(i) = j} α_i G_i</c> (k × m, float32). Threads split the
/// columns of G, never the rows, so every element of B̃ is summed by one thread in ascending i.
/// </summary>
internal static unsafe class CpuSegmentedReduction
{
    // Columns per task: wide enough for long SIMD runs, narrow enough that k rows of it stay in cache.
    private const int ColumnsPerTask = 256;

    /// <summary>B̃ for the gradient G (rows × m row-major). Dropped rows (α = 0) still add 0·G_i, so NaN and ∞ in G propagate as in an exact GEMM.</summary>
    public static float[] Reduce<TG>(
        GeneratorAssignment assignment, float[] alpha, int k, TG* gradient, int rows, int m, ParallelOptions parallelOptions)
        where TG : unmanaged
    {
        var reduced = new float[(long)k * m];
        nint g = (nint)gradient;
        int tasks = (int)((m + (long)ColumnsPerTask - 1) / ColumnsPerTask);
        CpuParallel.For(tasks, parallelOptions,
            () => new float[Math.Min(ColumnsPerTask, m)],
            (task, buffer) =>
            {
                int first = task * ColumnsPerTask, width = Math.Min(ColumnsPerTask, m - first);
                for (int i = 0; i < rows; i++)
                {
                    ReadOnlySpan<float> row = RowConverter.AsSingle(new ReadOnlySpan<TG>((TG*)g + (long)i * m + first, width), buffer);
                    // k ≤ b and G holds b·m elements in one span, so every offset into B̃ fits in an int.
                    Span<float> target = reduced.AsSpan((int)((long)assignment[i] * m + first), width);
                    TensorPrimitives.MultiplyAdd(row, alpha[i], target, target);
                }
                return buffer;
            },
            _ => { });
        return reduced;
    }
}
