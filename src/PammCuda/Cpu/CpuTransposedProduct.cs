using System.Buffers;
using System.Numerics.Tensors;

namespace PammCuda.Cpu;

/// <summary>
/// <c>out = alpha·AᵀB + beta·out</c> for row-major A (r × p) and B (r × q), out p × q: the one product
/// shape behind the exact reference (A, B = X, G or G, X) and the last step of PAMM (A, B = C, B̃ or B̃, C).
/// Every output element is accumulated in float32 in ascending reduction index as <c>acc = A[i,row]·B[i,col] + acc</c>
/// (a multiply and an add, each rounded, from acc = +0), whatever the vector width, blocking or thread count, then
/// rounded once to the output type: both layouts of one product are bitwise transposes of each other and no result
/// depends on the thread count.
/// </summary>
/// <remarks>
/// A register-tiled GEMM with <see cref="CpuGemmNT"/>'s <see cref="MicroKernel"/>, its multiply-adds unfused: threads
/// take blocks of output rows; within a block, slices of <see cref="StepsPerSlice"/> reduction rows keep the rows of A
/// and B they touch in cache while every tile of the block streams them. Each slice of A (the block's columns) and of B (one tile's columns) is first copied into
/// contiguous zero-padded float32 panels (widening Half and bfloat16 on the way): step i of a tile then broadcasts R
/// consecutive floats of A's panel and loads two vectors of B's, and no load ever leaves the operands. A product too
/// small to pay for a second thread (<see cref="MinWorkPerTask"/>) runs as one task.
/// </remarks>
internal static unsafe class CpuTransposedProduct
{
    // Reduction rows per slice: A's and B's slices of a block stay in L2 while its tiles pass over them.
    private const int StepsPerSlice = 256;

    // Accumulator floats per task (128 KiB): output rows handled together share one pass over B.
    private const int AccumulatorBudget = 32 * 1024;
    private const int MaxRowsPerTask = 64;

    // Multiply-adds below which a task is not worth handing to another thread.
    private const long MinWorkPerTask = 1 << 20;

    /// <summary>Computes the product. When <paramref name="beta"/> is 0 the old output is not read (BLAS semantics), so garbage or NaN there cannot leak.</summary>
    public static void Run<TA, TB, TOut>(
        TA* a, TB* b, int reduction, int p, int q, TOut* output, float alpha, float beta, ParallelOptions parallelOptions)
        where TA : unmanaged where TB : unmanaged where TOut : unmanaged =>
        Run(a, b, reduction, p, q, output, alpha, beta, parallelOptions, GemmWidths.Best);

    /// <summary>
    /// The product in a <see cref="ProductLayout"/>: <c>output = alpha·(Xᵀ G) + beta·output</c> (columns × gradientColumns)
    /// for <see cref="ProductLayout.InputByGradient"/>, or <c>alpha·(Gᵀ X) + beta·output</c> (gradientColumns × columns),
    /// with X rows × columns and G rows × gradientColumns, both row-major.
    /// </summary>
    public static void Run<TX, TG, TOut>(
        ProductLayout layout, TX* x, TG* gradient, int rows, int columns, int gradientColumns, TOut* output, float alpha, float beta,
        ParallelOptions parallelOptions)
        where TX : unmanaged where TG : unmanaged where TOut : unmanaged
    {
        if (layout == ProductLayout.InputByGradient)
            Run(x, gradient, rows, columns, gradientColumns, output, alpha, beta, parallelOptions);
        else
            Run(gradient, x, rows, gradientColumns, columns, output, alpha, beta, parallelOptions);
    }

    /// <summary>The product at a chosen width (tests reach every kernel through it).</summary>
    internal static void Run<TA, TB, TOut>(
        TA* a, TB* b, int reduction, int p, int q, TOut* output, float alpha, float beta, ParallelOptions parallelOptions, GemmWidth width)
        where TA : unmanaged where TB : unmanaged where TOut : unmanaged
    {
        int tileRows = GemmWidths.Rows(width);
        int rowsPerTask = RowsPerTask(reduction, p, q, tileRows);
        int tasks = (p + rowsPerTask - 1) / rowsPerTask;
        nint aAddress = (nint)a, bAddress = (nint)b, outAddress = (nint)output;
        CpuParallel.For(tasks, parallelOptions,
            () => new Workspace(rowsPerTask, q, Math.Min(StepsPerSlice, reduction), width),
            (task, workspace) =>
            {
                int first = task * rowsPerTask, count = Math.Min(rowsPerTask, p - first);
                RunBlock((TA*)aAddress, (TB*)bAddress, reduction, p, q, first, count, workspace, width);
                for (int r = 0; r < count; r++)
                    WriteRow(workspace.Accumulators.AsSpan(r * q, q), new Span<TOut>((TOut*)outAddress + (long)(first + r) * q, q), alpha, beta, workspace.Row);
                return workspace;
            },
            workspace => workspace.Return());
    }

    // Accumulators[0..count) × q = (A[:, first..first + count))ᵀ B, one reduction slice after the other.
    private static void RunBlock<TA, TB>(TA* a, TB* b, int reduction, int p, int q, int first, int count, Workspace workspace, GemmWidth width)
        where TA : unmanaged where TB : unmanaged
    {
        int tileRows = GemmWidths.Rows(width), tileColumns = GemmWidths.Columns(width);
        fixed (float* accumulators = workspace.Accumulators)
        fixed (float* packedA = workspace.PackedA)
        fixed (float* packedB = workspace.PackedB)
        fixed (float* scratch = workspace.Tile)
            RunBlock(a, b, reduction, p, q, first, count, accumulators, packedA, packedB, scratch, tileRows, tileColumns, MicroKernel.For<SeparateMultiplyAdd>(width));
    }

    private static void RunBlock<TA, TB>(
        TA* a, TB* b, int reduction, int p, int q, int first, int count, float* accumulators, float* packedA, float* packedB,
        float* scratch, int tileRows, int tileColumns, delegate*<float*, nint, nint, float*, int, float*, nint, bool, void> kernel)
        where TA : unmanaged where TB : unmanaged
    {
        int tiles = (count + tileRows - 1) / tileRows;
        for (int i0 = 0; i0 < reduction; i0 += StepsPerSlice)
        {
            int steps = Math.Min(StepsPerSlice, reduction - i0);
            // The first slice starts every sum at +0; the next ones continue them from the accumulators.
            bool accumulate = i0 > 0;
            // Both slices are packed into contiguous, zero-padded panels: read in place, rows of A and B a power of two
            // apart (n = 256: 1 KiB) fall into the same few L1 sets and evict each other at every step.
            PackSlice(a + (long)i0 * p + first, p, steps, count, packedA, tileRows);
            for (int column = 0; column < q; column += tileColumns)
            {
                int columnsHere = Math.Min(tileColumns, q - column);
                PackSlice(b + (long)i0 * q + column, q, steps, columnsHere, packedB, tileColumns);
                for (int tile = 0; tile < tiles; tile++)
                {
                    float* aTile = packedA + (long)tile * steps * tileRows;
                    float* cTile = accumulators + (long)tile * tileRows * q + column;
                    int rowsHere = Math.Min(tileRows, count - tile * tileRows);
                    if (rowsHere == tileRows && columnsHere == tileColumns)
                    {
                        kernel(aTile, 1, tileRows, packedB, steps, cTile, q, accumulate);
                    }
                    else
                    {
                        // An edge tile runs whole on a scratch tile; only its valid part moves from and to the accumulators.
                        if (accumulate) CpuGemmNT.CopyTile(cTile, q, scratch, tileColumns, rowsHere, columnsHere);
                        kernel(aTile, 1, tileRows, packedB, steps, scratch, tileColumns, accumulate);
                        CpuGemmNT.CopyTile(scratch, tileColumns, cTile, q, rowsHere, columnsHere);
                    }
                }
            }
        }
    }

    // Columns [0, columns) of steps rows (stride sourceStride) into panels of panelWidth columns, each panel steps ×
    // panelWidth contiguous float32 and the last one zero-padded. Half and bfloat16 are widened (exactly) here, on the
    // way, so that no widened copy of a whole operand is ever made.
    private static void PackSlice<T>(T* source, nint sourceStride, int steps, int columns, float* target, int panelWidth) where T : unmanaged
    {
        int panels = (columns + panelWidth - 1) / panelWidth;
        for (int panel = 0; panel < panels; panel++)
        {
            int width = Math.Min(panelWidth, columns - panel * panelWidth);
            T* from = source + panel * panelWidth;
            float* to = target + (long)panel * steps * panelWidth;
            for (int i = 0; i < steps; i++, from += sourceStride, to += panelWidth)
            {
                RowConverter.ToSingle(new ReadOnlySpan<T>(from, width), new Span<float>(to, width));
                if (width < panelWidth) new Span<float>(to + width, panelWidth - width).Clear();
            }
        }
    }

    private static int RowsPerTask(int reduction, int p, int q, int tileRows)
    {
        int byBudget = Math.Max(1, AccumulatorBudget / q);
        // Enough tasks for every core to get several, so one slow task does not idle the rest.
        int bySpread = Math.Max(1, p / (4 * Environment.ProcessorCount));
        int rows = Math.Clamp(Math.Min(byBudget, bySpread), 1, MaxRowsPerTask);
        // But no task under MinWorkPerTask multiply-adds: handing a smaller one to another thread costs more than it
        // saves (PAMM's product with a small k is often far below it), and on a busy machine far more.
        long work = (long)reduction * p * q;
        int maxTasks = (int)Math.Clamp(work / MinWorkPerTask, 1, p);
        rows = Math.Max(rows, (p + maxTasks - 1) / maxTasks);
        // Whole tiles where possible, so that only the last block of the output has an edge tile.
        return rows >= tileRows ? rows / tileRows * tileRows : rows;
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

    /// <summary>
    /// Per-thread scratch: the block's accumulators, the packed slices of A and B, an edge tile. Rented from the shared
    /// pool (and fixed for one block at a time): fresh arrays of this size would land on the large object heap on every
    /// call and bring on full collections.
    /// </summary>
    private sealed class Workspace(int rowsPerTask, int q, int steps, GemmWidth width)
    {
        public readonly float[] Accumulators = ArrayPool<float>.Shared.Rent(rowsPerTask * q);
        public readonly float[] Row = ArrayPool<float>.Shared.Rent(q);
        public readonly float[] PackedA = ArrayPool<float>.Shared.Rent(steps * ((rowsPerTask + GemmWidths.Rows(width) - 1) / GemmWidths.Rows(width) * GemmWidths.Rows(width)));
        public readonly float[] PackedB = ArrayPool<float>.Shared.Rent(steps * GemmWidths.Columns(width));
        public readonly float[] Tile = ArrayPool<float>.Shared.Rent(GemmWidths.Rows(width) * GemmWidths.Columns(width));

        public void Return()
        {
            foreach (var array in new[] { Accumulators, Row, PackedA, PackedB, Tile }) ArrayPool<float>.Shared.Return(array);
        }
    }
}
