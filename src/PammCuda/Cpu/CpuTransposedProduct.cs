using System.Numerics.Tensors;

namespace PammCuda.Cpu;

/// <summary>
/// <c>out = alpha·AᵀB + beta·out</c> for row-major A (r × p) and B (r × q), out p × q: the one product
/// shape behind the exact reference (A, B = X, G or G, X) and the last step of PAMM (A, B = C, B̃ or B̃, C).
/// Threads split the output rows; every output element is accumulated in float32 by one thread in
/// ascending reduction index as <c>acc = A[i,row]·B[i,col] + acc</c>, so both layouts of one product are
/// bitwise transposes of each other and no result depends on the thread count.
/// </summary>
internal static unsafe class CpuTransposedProduct
{
    // Accumulator floats per task (128 KiB): output rows handled together share one pass over B.
    private const int AccumulatorBudget = 32 * 1024;
    private const int MaxRowsPerTask = 64;

    /// <summary>Computes the product. When <paramref name="beta"/> is 0 the old output is not read (BLAS semantics), so garbage or NaN there cannot leak.</summary>
    public static void Run<TA, TB, TOut>(
        TA* a, TB* b, int reduction, int p, int q, TOut* output, float alpha, float beta, ParallelOptions parallelOptions)
        where TA : unmanaged where TB : unmanaged where TOut : unmanaged
    {
        int rowsPerTask = RowsPerTask(p, q);
        int tasks = (p + rowsPerTask - 1) / rowsPerTask;
        nint aAddress = (nint)a, bAddress = (nint)b, outAddress = (nint)output;
        Parallel.For(0, tasks, parallelOptions,
            () => new Workspace(rowsPerTask, q),
            (task, _, workspace) =>
            {
                int first = task * rowsPerTask, count = Math.Min(rowsPerTask, p - first);
                Span<float> accumulators = workspace.Accumulators.AsSpan(0, count * q);
                accumulators.Clear();
                for (long i = 0; i < reduction; i++)
                {
                    ReadOnlySpan<float> bRow = RowConverter.AsSingle(new ReadOnlySpan<TB>((TB*)bAddress + i * q, q), workspace.Row);
                    TA* aRow = (TA*)aAddress + i * p + first;
                    for (int r = 0; r < count; r++)
                    {
                        Span<float> accumulator = accumulators.Slice(r * q, q);
                        TensorPrimitives.MultiplyAdd(bRow, ElementConvert.ToSingle(aRow[r]), accumulator, accumulator);
                    }
                }
                for (int r = 0; r < count; r++)
                    WriteRow(accumulators.Slice(r * q, q), new Span<TOut>((TOut*)outAddress + (long)(first + r) * q, q), alpha, beta, workspace.Row);
                return workspace;
            },
            _ => { });
    }

    private static int RowsPerTask(int p, int q)
    {
        int byBudget = Math.Max(1, AccumulatorBudget / q);
        // Enough tasks for every core to get several, so one slow task does not idle the rest.
        int bySpread = Math.Max(1, p / (4 * Environment.ProcessorCount));
        return Math.Clamp(Math.Min(byBudget, bySpread), 1, MaxRowsPerTask);
    }

    // destination = alpha·accumulator + beta·destination, evaluated as (acc·alpha) + (old·beta) in float32 and rounded once to TOut.
    private static void WriteRow<TOut>(Span<float> accumulator, Span<TOut> destination, float alpha, float beta, Span<float> scratch)
        where TOut : unmanaged
    {
        if (beta == 0f)
        {
            TensorPrimitives.Multiply(accumulator, alpha, accumulator);
        }
        else
        {
            Span<float> scaledOld = scratch[..destination.Length];
            RowConverter.ToSingle<TOut>(destination, scaledOld);
            TensorPrimitives.Multiply(scaledOld, beta, scaledOld);
            TensorPrimitives.MultiplyAdd(accumulator, alpha, scaledOld, accumulator);
        }
        RowConverter.FromSingle<TOut>(accumulator, destination);
    }

    private sealed class Workspace(int rowsPerTask, int q)
    {
        public readonly float[] Accumulators = new float[(long)rowsPerTask * q];
        public readonly float[] Row = new float[q];
    }
}
