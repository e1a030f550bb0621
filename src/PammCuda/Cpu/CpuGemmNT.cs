using System.Buffers;

namespace PammCuda.Cpu;

/// <summary>
/// <c>S = A·Bᵀ</c> in float32 for row-major A (rows × depth) and B (columns × depth) of float, Half or BFloat16:
/// every S_ij is the dot product of row i of A and row j of B. Compression's similarities S = X Cᵀ are this product.
/// </summary>
/// <remarks>
/// <para><b>Result.</b> Every S_ij is the fused multiply-add chain <c>acc = fma(A_ip, B_jp, acc)</c> over ascending p,
/// from acc = +0, on the exactly widened inputs. Depth blocks continue the chain from the stored partial sum (a float32
/// store and reload changes nothing), every element is owned by one micro-kernel call at a time, and every width keeps
/// one element in one lane: so S is bitwise the same for every vector width, blocking and thread count, and equal to the
/// scalar loop. <see cref="SquaredNorms"/> and <see cref="GemmPanels.SquaredNorms"/> use the same chain, so a row equal
/// to a row of B (or a power-of-two multiple of it) has S_ij² = ‖A_i‖²·‖B_j‖² exactly.</para>
/// <para><b>Blocking</b> (GotoBLAS-style): B is packed once into panels (<see cref="GemmPanels"/>); threads take blocks
/// of <see cref="RowsPerTask"/> rows of A; within a block, depth slices of <see cref="DefaultDepthBlock"/> keep one
/// panel slice in L1 while every row tile of the block streams past it. A is read in place (float) or from one widened
/// copy per block (Half, BFloat16): broadcasting its elements needs no packing.</para>
/// </remarks>
internal static unsafe class CpuGemmNT
{
    /// <summary>Depth per slice: a 32-wide AVX-512 panel slice is then 32 KiB, the row tile's slice 8 KiB.</summary>
    public const int DefaultDepthBlock = 256;

    /// <summary>Rows of A per task: a multiple of every width's tile height (8, 6, 4, 2), with enough tasks to balance threads.</summary>
    public const int RowsPerTask = 96;

    /// <summary>S (rows × columns, row-major) = A·Bᵀ, at the widest accelerated vector width.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size below 1.</exception>
    /// <exception cref="ArgumentException">A or B not of their shape, or S too small.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, Half or BFloat16.</exception>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<float> s, int rows, int columns, int depth, ParallelOptions parallelOptions)
        where T : unmanaged =>
        Multiply(a, b, s, rows, columns, depth, parallelOptions, GemmWidths.Best, DefaultDepthBlock);

    /// <summary>The product at a chosen width and depth slice (tests use them to reach every kernel and every block boundary).</summary>
    internal static void Multiply<T>(
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<float> s, int rows, int columns, int depth, ParallelOptions parallelOptions,
        GemmWidth width, int depthBlock) where T : unmanaged
    {
        // Every check once, here, so that the block loop below runs on raw pointers without any.
        ArgumentNullException.ThrowIfNull(parallelOptions);
        CpuArguments.CheckElementType<T>();
        CpuArguments.CheckMatrix(a, rows, depth, nameof(a), nameof(rows), nameof(depth));
        CpuArguments.CheckMatrix(b, columns, depth, nameof(b), nameof(columns), nameof(depth));
        if (s.Length < (long)rows * columns)
            throw new ArgumentException($"s is too small: {s.Length} elements for {rows} × {columns}.", nameof(s));
        ArgumentOutOfRangeException.ThrowIfLessThan(depthBlock, 1);

        var panels = GemmPanels.Pack(b, columns, depth, width);
        int tasks = (int)((rows + (long)RowsPerTask - 1) / RowsPerTask);
        fixed (T* pa = a)
        fixed (float* ps = s)
        {
            nint aAddress = (nint)pa, sAddress = (nint)ps;
            CpuParallel.For(tasks, parallelOptions,
                () => new GemmWorkspace(width, depth, typeof(T) == typeof(float) ? 0 : Math.Min(RowsPerTask, rows)),
                (task, workspace) =>
                {
                    int first = task * RowsPerTask, count = Math.Min(RowsPerTask, rows - first);
                    fixed (float* rowsOfA = workspace.AsSingle((T*)aAddress + (long)first * depth, count, depth))
                        MultiplyRows(rowsOfA, depth, count, panels, (float*)sAddress + (long)first * columns, columns, workspace, depthBlock);
                    return workspace;
                },
                workspace => workspace.Return());
        }
    }

    /// <summary>
    /// The block step: S[0..count) = A[0..count)·Bᵀ for <paramref name="count"/> float32 rows of A at stride
    /// <paramref name="lda"/>, into S at stride <paramref name="lds"/>. One thread; callers split rows between threads.
    /// </summary>
    public static void MultiplyRows(float* a, nint lda, int count, GemmPanels b, float* s, nint lds, GemmWorkspace workspace, int depthBlock = DefaultDepthBlock) =>
        MultiplyRows(a, lda, count, b, 0, b.Panels, s, lds, workspace, depthBlock);

    /// <summary>
    /// The block step for the columns of panels [<paramref name="firstPanel"/>, firstPanel + <paramref name="panelCount"/>)
    /// only: column j of S (at <paramref name="s"/>) is row firstPanel·PanelWidth + j of B. Lets a caller bound S by
    /// visiting B a slice at a time.
    /// </summary>
    public static void MultiplyRows(
        float* a, nint lda, int count, GemmPanels b, int firstPanel, int panelCount, float* s, nint lds, GemmWorkspace workspace,
        int depthBlock = DefaultDepthBlock)
    {
        fixed (float* panels = b.Data)
        fixed (float* tail = workspace.TailRows)
        fixed (float* scratch = workspace.Tile)
            MultiplyRows(a, lda, count, b, panels, firstPanel, panelCount, s, lds, tail, scratch, depthBlock);
    }

    private static void MultiplyRows(
        float* a, nint lda, int count, GemmPanels b, float* panels, int firstPanel, int panelCount, float* s, nint lds,
        float* tail, float* scratch, int depthBlock)
    {
        int tileRows = GemmWidths.Rows(b.Width), tileColumns = b.PanelWidth, depth = b.Depth;
        int fullTiles = count / tileRows, tailRows = count - fullTiles * tileRows;
        int tiles = fullTiles + (tailRows > 0 ? 1 : 0);
        // The last rows, copied into a zero-padded full tile, so that one kernel serves every tile.
        if (tailRows > 0)
        {
            new Span<float>(tail, tileRows * depth).Clear();
            for (int r = 0; r < tailRows; r++)
                new ReadOnlySpan<float>(a + (fullTiles * tileRows + r) * lda, depth).CopyTo(new Span<float>(tail + r * depth, depth));
        }
        var kernel = MicroKernel.For<FusedMultiplyAdd>(b.Width);
        for (int p0 = 0; p0 < depth; p0 += depthBlock)
        {
            int slice = Math.Min(depthBlock, depth - p0);
            // The first slice starts every chain at +0; the next ones continue the chains from S.
            bool accumulate = p0 > 0;
            for (int panel = 0; panel < panelCount; panel++)
            {
                float* bSlice = panels + ((long)(firstPanel + panel) * depth + p0) * tileColumns;
                int columnsHere = Math.Min(tileColumns, b.Columns - (firstPanel + panel) * tileColumns);
                for (int tile = 0; tile < tiles; tile++)
                {
                    bool full = tile < fullTiles;
                    float* aTile = full ? a + tile * tileRows * lda + p0 : tail + p0;
                    nint aStride = full ? lda : depth;
                    float* sTile = s + tile * tileRows * lds + panel * tileColumns;
                    int rowsHere = full ? tileRows : tailRows;
                    if (rowsHere == tileRows && columnsHere == tileColumns)
                    {
                        kernel(aTile, aStride, 1, bSlice, slice, sTile, lds, accumulate);
                    }
                    else
                    {
                        // An edge tile runs whole on a scratch tile; only its valid part moves from and to S.
                        if (accumulate) CopyTile(sTile, lds, scratch, tileColumns, rowsHere, columnsHere);
                        kernel(aTile, aStride, 1, bSlice, slice, scratch, tileColumns, accumulate);
                        CopyTile(scratch, tileColumns, sTile, lds, rowsHere, columnsHere);
                    }
                }
            }
        }
    }

    /// <summary>
    /// ‖A_i‖² of <paramref name="count"/> float32 rows at stride <paramref name="lda"/>, as the same chain as S (from +0,
    /// ascending p). Eight rows go side by side so that eight independent chains hide the FMA latency.
    /// </summary>
    public static void SquaredNorms(float* a, nint lda, int count, int depth, float* result)
    {
        int r = 0;
        for (; r + 8 <= count; r += 8)
        {
            float* a0 = a + r * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f, s5 = 0f, s6 = 0f, s7 = 0f;
            for (int p = 0; p < depth; p++)
            {
                s0 = MathF.FusedMultiplyAdd(a0[p], a0[p], s0);
                s1 = MathF.FusedMultiplyAdd(a1[p], a1[p], s1);
                s2 = MathF.FusedMultiplyAdd(a2[p], a2[p], s2);
                s3 = MathF.FusedMultiplyAdd(a3[p], a3[p], s3);
                s4 = MathF.FusedMultiplyAdd(a4[p], a4[p], s4);
                s5 = MathF.FusedMultiplyAdd(a5[p], a5[p], s5);
                s6 = MathF.FusedMultiplyAdd(a6[p], a6[p], s6);
                s7 = MathF.FusedMultiplyAdd(a7[p], a7[p], s7);
            }
            result[r] = s0; result[r + 1] = s1; result[r + 2] = s2; result[r + 3] = s3;
            result[r + 4] = s4; result[r + 5] = s5; result[r + 6] = s6; result[r + 7] = s7;
        }
        for (; r < count; r++)
        {
            float* row = a + r * lda;
            float sum = 0f;
            for (int p = 0; p < depth; p++) sum = MathF.FusedMultiplyAdd(row[p], row[p], sum);
            result[r] = sum;
        }
    }

    /// <summary>Copies a <paramref name="rows"/> × <paramref name="columns"/> float32 tile between strided row-major blocks.</summary>
    internal static void CopyTile(float* source, nint sourceStride, float* target, nint targetStride, int rows, int columns)
    {
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(source + r * sourceStride, columns).CopyTo(new Span<float>(target + r * targetStride, columns));
    }

    /// <summary>
    /// Per-thread scratch of the block step: a zero-padded tile of A's last rows, an edge tile of S and, for Half and
    /// BFloat16, the block's rows widened to float32. Rented from the shared pool (and fixed for one block at a time):
    /// fresh arrays of this size would land on the large object heap on every call and bring on full collections.
    /// </summary>
    internal sealed class GemmWorkspace(GemmWidth width, int depth, int widenedRows)
    {
        public readonly float[] TailRows = ArrayPool<float>.Shared.Rent(GemmWidths.Rows(width) * depth);
        public readonly float[] Tile = ArrayPool<float>.Shared.Rent(GemmWidths.Rows(width) * GemmWidths.Columns(width));
        private readonly float[] _widened = ArrayPool<float>.Shared.Rent(widenedRows * depth);

        /// <summary>Gives the arrays back to the pool; the workspace is not used after.</summary>
        public void Return()
        {
            ArrayPool<float>.Shared.Return(TailRows);
            ArrayPool<float>.Shared.Return(Tile);
            ArrayPool<float>.Shared.Return(_widened);
        }

        /// <summary>
        /// <paramref name="count"/> rows of depth elements as float32: the rows themselves for float (memory the caller
        /// has fixed), widened into this workspace otherwise.
        /// </summary>
        public ReadOnlySpan<float> AsSingle<T>(T* rows, int count, int depth) where T : unmanaged
        {
            if (typeof(T) == typeof(float)) return new ReadOnlySpan<float>(rows, count * depth);
            if (count * depth > _widened.Length) throw new InvalidOperationException($"The workspace widens {_widened.Length} elements, not {count * depth}.");
            Span<float> widened = _widened.AsSpan(0, count * depth);
            RowConverter.ToSingle(new ReadOnlySpan<T>(rows, count * depth), widened);
            return widened;
        }
    }
}
